"""The authentication backend reads less per request and allows exactly what Django's would."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.backends import OfflabelBackend
from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role

ADD_REQUEST = "prescriptions.add_offlabelrequest"
VIEW_AUDIT = "audit.view_auditevent"


def fresh(user: User) -> User:
    """The user as a new request loads it: nothing cached."""
    loaded = OfflabelBackend().get_user(user.pk)
    assert loaded is not None
    return loaded


def every_permission() -> list[str]:
    return [
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    ]


def test_roles_and_their_permissions_come_in_one_query(physician):
    user = fresh(physician)
    with CaptureQueriesContext(connection) as queries:
        assert user.has_role(Role.PHYSICIAN) and not user.has_role(Role.PHARMACIST)
        assert user.has_perm(ADD_REQUEST)
        assert user.role_names == [Role.PHYSICIAN]
    assert len(queries) == 1, [q["sql"] for q in queries]
    # A refusal also reads the user's own permissions (once), as Django's backend would.
    with CaptureQueriesContext(connection) as queries:
        assert not user.has_perm(VIEW_AUDIT)
        assert not user.has_perm(VIEW_AUDIT)
    assert len(queries) == 1


def test_the_hospital_comes_with_the_user(physician):
    user = fresh(physician)
    with CaptureQueriesContext(connection) as queries:
        assert user.hospital is not None and user.hospital.pk == physician.hospital_id
    assert not queries


@pytest.mark.parametrize("role", list(Role))
def test_every_role_is_allowed_exactly_what_djangos_backend_allows(hospital, role):
    user = User.objects.create_user(f"u.{role}", hospital=hospital)
    user.groups.add(Group.objects.get(name=role))
    ours, django = fresh(user), ModelBackend().get_user(user.pk)
    assert django is not None
    for perm in every_permission():
        assert OfflabelBackend().has_perm(ours, perm) == ModelBackend().has_perm(django, perm), perm
    granted = {p for p in every_permission() if OfflabelBackend().has_perm(fresh(user), p)}
    assert granted == set(ROLE_PERMISSIONS[role])


def test_a_permission_given_to_the_user_alone_counts(physician):
    app, codename = VIEW_AUDIT.split(".")
    physician.user_permissions.add(
        Permission.objects.get(content_type__app_label=app, codename=codename)
    )
    assert fresh(physician).has_perm(VIEW_AUDIT)
    assert VIEW_AUDIT in fresh(physician).get_all_permissions()


def test_an_inactive_user_has_no_permission_and_a_superuser_all(physician, db):
    physician.is_active = False
    physician.save()
    assert OfflabelBackend().get_user(physician.pk) is None  # cannot sign in either
    assert not OfflabelBackend().has_perm(physician, ADD_REQUEST)
    root = User.objects.create_superuser("root", "root@example.invalid", "x-Invented-42")
    assert all(OfflabelBackend().has_perm(fresh(root), p) for p in every_permission())


def test_changing_the_groups_of_a_loaded_user_is_seen_at_once(physician):
    user = fresh(physician)
    assert user.has_perm(ADD_REQUEST) and not user.has_role(Role.PHARMACIST)
    user.groups.set([Group.objects.get(name=Role.PHARMACIST)])
    assert user.has_role(Role.PHARMACIST) and not user.has_role(Role.PHYSICIAN)
    assert not user.has_perm(ADD_REQUEST)
    user.groups.clear()
    assert user.role_names == [] and not user.has_perm("prescriptions.view_offlabelrequest")
