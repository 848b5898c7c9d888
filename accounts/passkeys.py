"""Passkeys (WebAuthn) as a second factor, with py_webauthn: the two ceremonies, each in two
steps. The server makes the options (with a fresh random challenge kept in the session), the
browser asks the authenticator, and the server checks what comes back: the challenge, the
relying party (``WEBAUTHN_RP_ID``), the page's origin and the signature with the public key
stored at registration.

The origin is what stops a look-alike site relaying a passkey: the browser writes the
address it is really on into the signed data. ``WEBAUTHN_ORIGINS`` lists the accepted ones;
when empty (development), the address the request came to is accepted if its host is the RP
ID (the Host header has passed ``ALLOWED_HOSTS``). Browsers offer WebAuthn only on HTTPS or
``localhost`` — not on 127.0.0.1, which is an address, not a domain.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.mfa import MfaError, passkeys
from accounts.models import PasskeyCredential, User
from audit.actions import AuditAction
from audit.services import audit_record

RP_NAME = "offlabel"
SESSION_REGISTRATION = "offlabel_webauthn_registration_challenge"
SESSION_AUTHENTICATION = "offlabel_webauthn_authentication_challenge"
_TRANSPORTS = {t.value for t in AuthenticatorTransport}


def rp_id() -> str:
    return str(settings.WEBAUTHN_RP_ID)


def expected_origins(request: HttpRequest) -> list[str]:
    if settings.WEBAUTHN_ORIGINS:
        return list(settings.WEBAUTHN_ORIGINS)
    host = request.get_host()
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if hostname == rp_id() or hostname.endswith("." + rp_id()):
        return [f"{request.scheme}://{host}"]
    return []


def user_handle(user: User) -> bytes:
    """The opaque id the authenticator stores with the passkey: stable, not the username."""
    return hashlib.sha256(f"offlabel-user:{user.pk}".encode()).digest()


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=bytes(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in p.transports if t in _TRANSPORTS],
        )
        for p in passkeys(user)
    ]


def _origins_or_refuse(request: HttpRequest) -> list[str]:
    origins = expected_origins(request)
    if not origins:
        raise MfaError(
            gettext(
                "Passkeys work only at this site's own address (%(rp_id)s); open the site "
                "there and try again."
            )
            % {"rp_id": rp_id()}
        )
    return origins


def registration_options(request: HttpRequest, user: User) -> dict[str, Any]:
    """Options for ``navigator.credentials.create``: one passkey per authenticator (the
    user's existing ones are excluded) and the authenticator must verify the person (PIN or
    biometrics)."""
    _origins_or_refuse(request)
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=RP_NAME,
        user_id=user_handle(user),
        user_name=user.get_username(),
        user_display_name=user.get_full_name() or user.get_username(),
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
    )
    request.session[SESSION_REGISTRATION] = bytes_to_base64url(options.challenge)
    return dict(json.loads(options_to_json(options)))


def _challenge_take(request: HttpRequest, key: str) -> bytes:
    challenge = request.session.pop(key, None)
    if not challenge:
        raise MfaError(gettext("The passkey request expired. Please try again."))
    return base64url_to_bytes(str(challenge))


@transaction.atomic
def passkey_register(
    *, request: HttpRequest, user: User, credential: dict[str, Any], name: str
) -> PasskeyCredential:
    challenge = _challenge_take(request, SESSION_REGISTRATION)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=_origins_or_refuse(request),
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise MfaError(
            gettext("The passkey could not be registered: %(why)s") % {"why": exc}
        ) from None
    if PasskeyCredential.objects.filter(credential_id=verified.credential_id).exists():
        raise MfaError(gettext("This passkey is already registered."))
    response = credential.get("response") if isinstance(credential, dict) else None
    transports = [
        t for t in (response or {}).get("transports", []) if isinstance(t, str) and t in _TRANSPORTS
    ]
    passkey = PasskeyCredential(
        user=user,
        name=(name.strip() or gettext("Passkey"))[:64],
        confirmed=True,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
    )
    passkey.full_clean()
    passkey.save()
    audit_record(
        actor=user,
        action=AuditAction.MFA_ENROLLED,
        target=passkey,
        summary=f"{user.get_username()} added a passkey ({passkey.name})",
    )
    return passkey


def authentication_options(request: HttpRequest, user: User) -> dict[str, Any]:
    """Options for ``navigator.credentials.get``, naming the user's own passkeys only."""
    _origins_or_refuse(request)
    allowed = _descriptors(user)
    if not allowed:
        raise MfaError(gettext("You have no passkey yet."))
    options = generate_authentication_options(
        rp_id=rp_id(),
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    request.session[SESSION_AUTHENTICATION] = bytes_to_base64url(options.challenge)
    return dict(json.loads(options_to_json(options)))


@transaction.atomic
def passkey_authenticate(
    *, request: HttpRequest, user: User, credential: dict[str, Any]
) -> PasskeyCredential:
    """Check an assertion against the user's passkey; the counter moves forward, so an
    assertion from a cloned authenticator (an older counter) is refused."""
    challenge = _challenge_take(request, SESSION_AUTHENTICATION)
    try:
        raw_id = base64url_to_bytes(str(credential["rawId"]))
    except (KeyError, TypeError, ValueError):
        raise MfaError(gettext("The passkey answer is malformed.")) from None
    passkey = (
        PasskeyCredential.objects.select_for_update()
        .filter(user=user, confirmed=True, credential_id=raw_id)
        .first()
    )
    if passkey is None:
        raise MfaError(gettext("This passkey is not registered to your account."))
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=_origins_or_refuse(request),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise MfaError(gettext("The passkey was not accepted: %(why)s") % {"why": exc}) from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "last_used_at"])
    return passkey
