"""Sign-ins, sign-outs, failed sign-ins, lockouts and password changes are audit events,
written through the real pages; a password never reaches the trail."""

from django.urls import reverse

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from tests.factories import TEST_PASSWORD


def _login(client, username, password, address="10.1.2.3"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def _actions():
    return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


def test_a_sign_in_and_a_sign_out_are_audited_with_user_hospital_and_address(client, physician):
    assert _login(client, physician.username, TEST_PASSWORD).status_code == 302
    assert client.post(reverse("logout"), REMOTE_ADDR="10.1.2.3").status_code == 302
    login, logout = AuditEvent.objects.order_by("sequence")
    assert (login.action, logout.action) == (AuditAction.LOGGED_IN, AuditAction.LOGGED_OUT)
    for event in (login, logout):
        assert event.actor == physician and event.hospital == physician.hospital
        assert event.ip_address == "10.1.2.3" and event.object_id == str(physician.pk)
    assert "signed in from 10.1.2.3" in login.summary
    assert audit_chain_verify().ok


def test_a_failed_sign_in_is_audited_with_the_username_tried_but_never_the_password(
    client, physician
):
    response = _login(client, physician.username, "Wrong-Guess-1234")
    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert event.action == AuditAction.LOGIN_FAILED and event.actor is None
    assert physician.username in event.summary and event.hospital == physician.hospital
    assert event.object_id == str(physician.pk)
    assert "Wrong-Guess-1234" not in str(
        AuditEvent.objects.values("summary", "before", "after").get()
    )


def test_a_failed_sign_in_for_an_unknown_username_is_audited(client, db):
    _login(client, "nobody.here", "whatever-123456")
    event = AuditEvent.objects.get()
    assert event.action == AuditAction.LOGIN_FAILED and "no such user" in event.summary
    assert event.object_id == "" and event.hospital is None


def test_a_lockout_is_audited_after_the_failed_sign_ins(client, physician, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, physician.username, "wrong-password")
    actions = _actions()
    assert actions.count(AuditAction.LOGIN_FAILED) == settings.AXES_FAILURE_LIMIT
    assert AuditAction.LOCKED_OUT in actions
    assert "wrong-password" not in " ".join(AuditEvent.objects.values_list("summary", flat=True))


def test_a_password_change_is_audited_without_the_password(client, physician):
    client.force_login(physician)
    new_password = "Another-Long-Secret-77"
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED)
    assert event.actor == physician and event.object_id == str(physician.pk)
    assert new_password not in event.summary and TEST_PASSWORD not in event.summary


def test_a_refused_password_change_is_not_audited_as_a_change(client, physician):
    client.force_login(physician)
    client.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": "x", "new_password2": "x"},
    )
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()
