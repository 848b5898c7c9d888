"""Signatures need a recent authentication (21 CFR 11.200(a)(1)): refused without one, on the
page and through the API, with nothing changed; accepted with the password, a TOTP code or a
recovery code; within the window the next signature needs nothing; failures are audited and
counted, and too many lock signing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from audit.services import audit_chain_verify
from prescriptions.models import OffLabelRequest
from prescriptions.services import request_transition
from signatures.models import ElectronicSignature
from tests.factories import TEST_PASSWORD
from tests.prescriptions.conftest import checklist_complete

S = OffLabelRequest.Status
# A whole minute shortly before the tests run: a session signed in at START is still within its
# idle time when a test reads a page after leaving the time machine (a fixed date here once
# expired those sessions as the calendar passed it).
START = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
LATER = timedelta(minutes=settings.SIGNATURE_REAUTH_MINUTES + 1)


@pytest.fixture
def in_review(draft, physician, pharmacist) -> OffLabelRequest:
    """A request the pharmacist can approve or reject: checklist complete, under review."""
    pharmacist.first_name, pharmacist.last_name = "Paola", "Rossi"
    pharmacist.save()
    checklist_complete(draft)
    request = request_transition(actor=physician, request=draft, transition="submit")
    return request_transition(actor=pharmacist, request=request, transition="start_review")


def _approve_page(client, request, **extra):
    return client.post(
        f"/requests/{request.pk}/transition/",
        {"transition": "approve", "version": request.version, **extra},
    )


def _transition_events(request):
    return AuditEvent.objects.filter(
        object_type="prescriptions.offlabelrequest",
        object_id=str(request.pk),
        action__in=["request.approve", "request.reject", "request.withdraw"],
    )


def test_approving_on_the_page_without_a_recent_sign_in_is_refused_and_changes_nothing(
    client, in_review, pharmacist
):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        traveller.shift(LATER)
        response = _approve_page(client, in_review, reason="typed before the prompt")
    assert response.status_code == 403
    page = response.content.decode()
    assert "approved as pharmacist" in page
    assert 'name="reauth_password"' in page
    # What the user typed is kept, to be sent again with the password.
    assert 'value="typed before the prompt"' in page
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW
    assert not ElectronicSignature.objects.exists()
    assert not _transition_events(in_review).exists()


def test_approving_with_the_password_signs_with_meaning_name_time_and_method(
    client, in_review, pharmacist
):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        traveller.shift(LATER)
        response = _approve_page(client, in_review, reauth_password=TEST_PASSWORD)
        signed_at = datetime.now(UTC)
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == S.APPROVED
    signature = ElectronicSignature.objects.get()
    assert signature.action == "approve"
    assert signature.meaning == "approved as pharmacist"
    assert signature.signer == pharmacist and signature.signer_name == "Paola Rossi"
    assert signature.method == "password"
    assert signature.signed_at == signed_at and signature.authenticated_at == signed_at
    assert signature.request == in_review
    assert (signature.object_type, signature.object_id) == (
        "prescriptions.offlabelrequest",
        str(in_review.pk),
    )
    # The act's own audit event carries the signature, inside the hash chain.
    event = signature.audit_event
    assert event.action == "request.approve"
    assert event.after["signature"] == {
        "meaning": "approved as pharmacist",
        "meaning_code": "approve",
        "meaning_params": {"role": "pharmacist"},
        "signer_name": "Paola Rossi",
        "signer_username": pharmacist.username,
        "signed_at": signed_at.isoformat(),
        "method": "password",
        "authenticated_at": signed_at.isoformat(),
    }
    assert audit_chain_verify().ok
    # The request page shows it: meaning, name, method.
    detail = client.get(f"/requests/{in_review.pk}/").content.decode()
    assert "approved as pharmacist" in detail and "Paola Rossi" in detail


def test_a_sign_in_within_the_window_needs_no_password(client, in_review, pharmacist):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        traveller.shift(timedelta(minutes=settings.SIGNATURE_REAUTH_MINUTES - 1))
        response = _approve_page(client, in_review)
    assert response.status_code == 302
    signature = ElectronicSignature.objects.get()
    # The sign-in was the authentication; its time is recorded, not the signing's.
    assert signature.method == "password" and signature.authenticated_at == START


def test_within_the_window_the_second_signature_needs_nothing_and_after_it_asks_again(
    client, in_review, draft, physician, pharmacist
):
    from prescriptions.services import request_create
    from tests.prescriptions.conftest import REGIMEN

    second = request_create(actor=physician, patient=draft.patient, fields=REGIMEN)
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(physician)
        traveller.shift(LATER)
        # Re-authenticated with the password to withdraw the first request...
        first = client.post(
            f"/requests/{in_review.pk}/transition/",
            {
                "transition": "withdraw",
                "reason": "patient moved away",
                "reauth_password": TEST_PASSWORD,
            },
        )
        assert first.status_code == 302
        traveller.shift(timedelta(minutes=2))
        # ...the second withdrawal, two minutes later, needs nothing...
        again = client.post(
            f"/requests/{second.pk}/transition/",
            {"transition": "withdraw", "reason": "duplicate draft"},
        )
        assert again.status_code == 302
        third = request_create(actor=physician, patient=draft.patient, fields=REGIMEN)
        traveller.shift(LATER)
        # ...and past the window it asks again.
        refused = client.post(
            f"/requests/{third.pk}/transition/",
            {"transition": "withdraw", "reason": "not needed"},
        )
    assert refused.status_code == 403
    third.refresh_from_db()
    assert third.status == S.DRAFT
    methods = list(ElectronicSignature.objects.values_list("meaning", "method"))
    assert methods == [("withdrawn as physician", "password")] * 2


def test_a_wrong_password_is_refused_and_audited(client, in_review, pharmacist):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        traveller.shift(LATER)
        response = _approve_page(client, in_review, reauth_password="not-the-password")
    assert response.status_code == 403
    assert "The password is not correct." in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW
    assert not ElectronicSignature.objects.exists()
    failed = AuditEvent.objects.get(action="signature.reauth_failed")
    assert failed.actor == pharmacist
    assert failed.after["meaning"] == "approved as pharmacist"
    assert failed.after["tried"] == "password" and failed.after["failures"] == 1
    assert "not-the-password" not in str(failed.after) + failed.summary


def test_repeated_failures_lock_signing_for_the_lockout_time(client, in_review, pharmacist):
    limit = settings.AXES_FAILURE_LIMIT
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        traveller.shift(LATER)
        for _ in range(limit):
            assert _approve_page(client, in_review, reauth_password="wrong").status_code == 403
        # Locked: even the right password is refused now.
        locked = _approve_page(client, in_review, reauth_password=TEST_PASSWORD)
        assert locked.status_code == 403
        assert "cannot sign for" in locked.content.decode()
        in_review.refresh_from_db()
        assert in_review.status == S.IN_REVIEW
        assert AuditEvent.objects.filter(action="signature.reauth_locked").count() == 1
        traveller.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=5))
        client.force_login(pharmacist)  # the session would have expired meanwhile
        traveller.shift(LATER)
        after = _approve_page(client, in_review, reauth_password=TEST_PASSWORD)
    assert after.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == S.APPROVED


def test_a_totp_code_signs(client, in_review, pharmacist):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        # Added in this session (one held at sign-in would be asked for there: accounts.mfa).
        device = TOTPDevice.objects.create(user=pharmacist, name="phone", confirmed=True)
        traveller.shift(LATER)
        code = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
        response = _approve_page(client, in_review, reauth_code=code)
    assert response.status_code == 302
    signature = ElectronicSignature.objects.get()
    assert signature.method == "totp"
    assert signature.audit_event.after["signature"]["method"] == "totp"


def test_a_wrong_totp_code_is_refused(client, in_review, pharmacist):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        TOTPDevice.objects.create(user=pharmacist, name="phone", confirmed=True)  # this session
        traveller.shift(LATER)
        response = _approve_page(client, in_review, reauth_code="000000")
    assert response.status_code == 403
    assert AuditEvent.objects.get(action="signature.reauth_failed").after["tried"] == "code"
    assert not ElectronicSignature.objects.exists()


def test_a_recovery_code_signs_once(client, in_review, pharmacist):
    device = StaticDevice.objects.create(user=pharmacist, name="recovery", confirmed=True)
    StaticToken.objects.create(device=device, token="inv3nt3d")
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        traveller.shift(LATER)
        response = _approve_page(client, in_review, reauth_code="inv3nt3d")
    assert response.status_code == 302
    assert ElectronicSignature.objects.get().method == "recovery"
    assert not StaticToken.objects.filter(token="inv3nt3d").exists()  # used up


def test_a_hospital_without_local_passwords_refuses_the_password(
    client, in_review, pharmacist, hospital
):
    hospital.local_password_login = False
    hospital.save()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(pharmacist)
        traveller.shift(LATER)
        response = _approve_page(client, in_review, reauth_password=TEST_PASSWORD)
    assert response.status_code == 403
    assert "does not use passwords kept here" in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW


# --- API ----------------------------------------------------------------------------------


def _approve_api(api_client, request, **extra):
    return api_client.post(
        f"/api/v1/requests/{request.pk}/transition/",
        {"transition": "approve", **extra},
        format="json",
    )


def test_the_api_refuses_a_signature_without_authentication_and_changes_nothing(
    api_client, in_review, pharmacist
):
    api_client.force_authenticate(pharmacist)  # no session, no token: no sign-in to count
    response = _approve_api(api_client, in_review)
    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert response.json()["detail"]
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW
    assert not ElectronicSignature.objects.exists()
    assert not _transition_events(in_review).exists()


def test_the_api_signs_with_reauth_password(api_client, in_review, pharmacist):
    api_client.force_authenticate(pharmacist)
    response = _approve_api(api_client, in_review, reauth_password=TEST_PASSWORD)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == S.APPROVED
    signature = ElectronicSignature.objects.get()
    assert signature.meaning == "approved as pharmacist" and signature.method == "password"


def test_the_api_refuses_a_wrong_password_with_its_code(api_client, in_review, pharmacist):
    api_client.force_authenticate(pharmacist)
    response = _approve_api(api_client, in_review, reauth_password="wrong")
    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_failed"
    assert AuditEvent.objects.filter(action="signature.reauth_failed").count() == 1


def test_a_session_api_client_counts_its_sign_in(api_client, in_review, pharmacist):
    with time_machine.travel(START, tick=False) as traveller:
        api_client.force_login(pharmacist)
        traveller.shift(timedelta(minutes=1))
        assert _approve_api(api_client, in_review).status_code == 200


def test_a_token_counts_its_issue_then_asks_for_the_password(api_client, draft, physician):
    from prescriptions.services import request_create
    from tests.prescriptions.conftest import REGIMEN

    second = request_create(actor=physician, patient=draft.patient, fields=REGIMEN)
    with time_machine.travel(START, tick=False) as traveller:
        issued = api_client.post(
            "/api/v1/auth/token/",
            {"username": physician.username, "password": TEST_PASSWORD},
            format="json",
        )
        assert issued.status_code == 200, issued.content
        token_client = type(api_client)()
        token_client.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
        traveller.shift(timedelta(minutes=1))
        fresh = token_client.post(
            f"/api/v1/requests/{draft.pk}/transition/",
            {"transition": "withdraw", "reason": "within the token's first minutes"},
            format="json",
        )
        assert fresh.status_code == 200, fresh.content
        traveller.shift(LATER)
        stale = token_client.post(
            f"/api/v1/requests/{second.pk}/transition/",
            {"transition": "withdraw", "reason": "later"},
            format="json",
        )
        assert stale.status_code == 403 and stale.json()["code"] == "reauthentication_required"
        signed = token_client.post(
            f"/api/v1/requests/{second.pk}/transition/",
            {"transition": "withdraw", "reason": "later", "reauth_password": TEST_PASSWORD},
            format="json",
        )
        assert signed.status_code == 200, signed.content
    methods = list(ElectronicSignature.objects.order_by("pk").values_list("method", flat=True))
    assert methods == ["password (API token)", "password"]


def test_a_transition_that_is_not_a_signature_needs_nothing(
    api_client, draft, physician, pharmacist
):
    api_client.force_authenticate(physician)
    checklist_complete(draft)
    response = api_client.post(
        f"/api/v1/requests/{draft.pk}/transition/", {"transition": "submit"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert not ElectronicSignature.objects.exists()


def test_the_openapi_schema_documents_the_reauthentication_fields(api_client, pharmacist):
    api_client.force_login(pharmacist)
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    transition = schema["components"]["schemas"]["TransitionInputRequest"]["properties"]
    assert {"reauth_password", "reauth_code"} <= set(transition)
    operation = schema["paths"]["/api/v1/requests/{id}/transition/"]["post"]
    refused = operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"]
    assert refused.endswith("/SignatureRefused")
