"""Hospitals, roles, sign-in pages, demo accounts, API auth and hospital scoping."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.urls import reverse

from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role
from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import audit_record
from tests.factories import TEST_PASSWORD, UserFactory


def test_roles_exist_as_groups_with_their_declared_permissions(db):
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        got = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert got == perms


def test_hospital_admin_is_read_only_on_studies(hospital_admin, pharmacist):
    assert hospital_admin.has_perm("evidence.view_study")
    assert not hospital_admin.has_perm("evidence.change_study")
    assert pharmacist.has_perm("evidence.change_study")


def test_a_user_must_belong_to_a_hospital_unless_superuser(db):
    User.objects.create_superuser("root", "root@example.invalid", TEST_PASSWORD)
    with pytest.raises(IntegrityError):
        User.objects.create_user("orphan", password=TEST_PASSWORD)


def test_seed_demo_creates_one_user_per_role_and_prints_a_working_password(
    client, capsys, settings, db
):
    settings.DEBUG = True  # pytest-django runs tests with DEBUG off
    call_command("seed_demo")
    out = capsys.readouterr().out
    found = re.search(r"Password for every demo account: (\S+)", out)
    assert found is not None, out
    password = found.group(1)
    users = User.objects.filter(hospital__is_demo=True).order_by("username")
    roles = sorted(u.role_names[0] for u in users)
    assert roles == sorted(
        ["physician", "physician", "pharmacist", "hospital_admin", "regulatory_officer"]
    )
    for user in users:
        assert user.username in out
    signed_in = client.post(reverse("login"), {"username": "demo.physician1", "password": password})
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("home")
    # Five hospital accounts and the national rules steward, above hospitals (issue 14).
    assert AuditEvent.objects.filter(action="user.created").count() == 6


def test_seed_demo_twice_keeps_the_same_accounts_with_a_new_password(capsys, settings, db):
    settings.DEBUG = True
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert User.objects.filter(hospital__is_demo=True).count() == 5
    assert first.splitlines()[-1] != second.splitlines()[-1]


def test_seed_demo_refuses_in_production_unless_forced(settings, db):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing to create demo accounts"):
        call_command("seed_demo")
    assert not User.objects.exists()
    call_command("seed_demo", "--force")
    assert User.objects.count() == 6  # five in the demo hospital, one steward above (issue 14)


def test_login_page_signs_in_and_wrong_password_is_explained(client, physician):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b"Sign in" in page.content
    bad = client.post(reverse("login"), {"username": "dr.house", "password": "wrong"})
    assert b"didn't match" in bad.content
    good = client.post(reverse("login"), {"username": "dr.house", "password": TEST_PASSWORD})
    assert good.status_code == 302 and good["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert b"Invented General Hospital" in home.content and b"physician" in home.content


def test_logout_and_password_change(client, physician):
    client.force_login(physician)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "An0ther-Long-Secret",
            "new_password2": "An0ther-Long-Secret",
        },
    )
    assert response.status_code == 302
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302
    signed_in = client.post(
        reverse("login"), {"username": "dr.house", "password": "An0ther-Long-Secret"}
    )
    assert signed_in.status_code == 302


def test_pages_require_sign_in(client, db):
    response = client.get(reverse("evidence:study-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_api_token_authentication(api_client, physician):
    response = api_client.post(
        reverse("api-token"), {"username": "dr.house", "password": TEST_PASSWORD}
    )
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get(reverse("api-me")).json()
    assert me == {
        "username": "dr.house",
        "hospital": "Invented General Hospital",
        "roles": ["physician"],
    }


def test_api_rejects_anonymous_callers(api_client, db):
    assert api_client.get(reverse("api-me")).status_code in (401, 403)


def test_hospital_admin_sees_only_own_hospitals_audit_events(
    api_client, hospital_admin, other_hospital
):
    stranger = UserFactory.create(username="fr.user", hospital=other_hospital, role=Role.PHYSICIAN)
    audit_record(
        actor=hospital_admin, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="mine"
    )
    audit_record(actor=stranger, action=AuditAction.USER_CREATED, object_type="t", summary="theirs")
    api_client.force_authenticate(hospital_admin)
    body = api_client.get("/api/v1/audit-events/").json()
    assert [e["action"] for e in body["results"]] == [AuditAction.HOSPITAL_CREATED]
    theirs = AuditEvent.objects.get(action=AuditAction.USER_CREATED)
    assert api_client.get(f"/api/v1/audit-events/{theirs.sequence}/").status_code == 404


def test_physician_cannot_read_the_audit_trail(api_client, physician):
    api_client.force_authenticate(physician)
    assert api_client.get("/api/v1/audit-events/").status_code == 403


def test_superuser_without_hospital_sees_no_hospital_records(api_client, hospital_admin, db):
    audit_record(
        actor=hospital_admin, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="mine"
    )
    root = User.objects.create_superuser("root", "root@example.invalid", TEST_PASSWORD)
    api_client.force_authenticate(root)
    assert api_client.get("/api/v1/audit-events/").json()["count"] == 0
