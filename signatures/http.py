"""The signature check at the HTTP entry points: pages and API.

A page posts the act's form with, when the signer's authentication is not recent,
``reauth_password`` / ``reauth_code`` (``templates/includes/signature_fields.html`` shows them).
A refusal answers with a page that keeps everything the user typed (hidden fields) and asks
again; an API refusal is a 403 ``{"detail": ..., "code": "reauthentication_required"}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from offlabel.api_errors import responses
from signatures.meanings import Meaning
from signatures.services import (
    CODE_FIELD,
    PASSWORD_FIELD,
    REAUTH_FIELDS,
    Refusal,
    SignatureCheck,
    SigningProof,
    authentication_recent_proof,
    local_password_allowed,
    second_factor_enrolled,
    signature_require,
)

# --- Pages ---------------------------------------------------------------------------------


def _url_or_none(name: str, next_url: str) -> str | None:
    try:
        return f"{reverse(name)}?{urlencode({'next': next_url})}"
    except NoReverseMatch:  # that way of signing in is not installed
        return None


def signature_fields_context(
    request: HttpRequest, meaning: Meaning, *, next_url: str = "", force: bool = False
) -> dict[str, Any]:
    """What ``includes/signature_fields.html`` needs: the meaning, and the ways to confirm who
    you are, shown only when the last authentication is not recent (or ``force``)."""
    user = request.user
    needed = force or authentication_recent_proof(request) is None
    context: dict[str, Any] = {"meaning": meaning.display_html(), "needed": needed}
    if needed and isinstance(user, User):
        next_url = next_url or request.get_full_path()
        provider_on = bool(
            getattr(settings, "OFFLABEL_OIDC_ENABLED", False)
            or getattr(settings, "OIDC_ENABLED", False)
        )
        context.update(
            password=local_password_allowed(user),
            code=second_factor_enrolled(user),
            passkey_url=_url_or_none("passkey-authenticate", next_url),
            provider_url=_url_or_none("oidc-reauth", next_url) if provider_on else None,
            minutes=settings.SIGNATURE_REAUTH_MINUTES,
        )
    return context


def signature_for_page(request: HttpRequest, meaning: Meaning) -> SigningProof | HttpResponse:
    """The proof to sign with, or the page that asks for it again (403) with the posted data
    kept. The caller returns that page as is: a raise would roll back its audit event."""
    check = signature_require(
        request,
        meaning=meaning,
        password=request.POST.get(PASSWORD_FIELD, ""),
        code=request.POST.get(CODE_FIELD, ""),
    )
    if check.proof is not None:
        return check.proof
    return signature_refusal_page(request, meaning, check)


def signature_refusal_page(
    request: HttpRequest, meaning: Meaning, check: SignatureCheck
) -> HttpResponse:
    kept = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in REAUTH_FIELDS and name != "csrfmiddlewaretoken"
        for value in values
    ]
    referer = request.META.get("HTTP_REFERER", "")
    back = referer if referer.startswith(("/", request.build_absolute_uri("/"))) else "/"
    context = {
        "meaning": meaning,
        "check": check,
        "kept": kept,
        "files": list(request.FILES),
        "action_url": request.get_full_path(),
        "back_url": back,
        "locked": check.refusal == Refusal.LOCKED,
        "sig": signature_fields_context(request, meaning, next_url=back, force=True),
    }
    return render(request, "signatures/reauthenticate.html", context, status=403)


# --- API -----------------------------------------------------------------------------------


class ReauthenticationFields(serializers.Serializer[Any]):
    """Fields every signing operation accepts; the view reads them, the act never sees them."""

    reauth_password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="This act is an electronic signature: without an authentication in the last "
        "OFFLABEL_SIGNATURE_REAUTH_MINUTES (a session's sign-in, a token's issue), send your "
        "password here, or `reauth_code`.",
    )
    reauth_code = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="A TOTP code from your authenticator app, or one of your recovery codes, "
        "instead of (or with) `reauth_password`.",
    )


def reauth_fields_pop(data: dict[str, Any]) -> dict[str, Any]:
    """The validated data without the re-authentication fields (the act's service never
    receives a credential)."""
    return {k: v for k, v in data.items() if k not in REAUTH_FIELDS}


class SignatureRefusedSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    meaning = serializers.CharField(required=False, help_text="What the user was signing.")
    code = serializers.ChoiceField(
        choices=[choice.value for choice in Refusal],
        required=False,  # absent on the other 403s (a role that may not do this)
        help_text="Only on a signature's refusal. reauthentication_required: send "
        "`reauth_password` or `reauth_code`; "
        "reauthentication_failed: the credential was wrong (audited, counted); "
        "reauthentication_locked: too many failures, wait.",
    )


SIGNATURE_403 = OpenApiResponse(
    SignatureRefusedSerializer,
    description="Not signed in, or your role may not do this; or, with a `code`, this "
    "electronic signature needs you to confirm who you are (`reauth_password`/`reauth_code`).",
)


def signing_responses(ok: Any, *errors: int, status: int = 200) -> dict[int, Any]:
    """``offlabel.api_errors.responses`` with the signature's 403."""
    documented = responses(ok, *errors, status=status)
    documented[403] = SIGNATURE_403
    return documented


def signature_for_api(request: Request, meaning: Meaning) -> SigningProof | Response:
    data = request.data if hasattr(request.data, "get") else {}
    check = signature_require(
        request,
        meaning=meaning,
        password=str(data.get(PASSWORD_FIELD, "") or ""),
        code=str(data.get(CODE_FIELD, "") or ""),
    )
    if check.proof is not None:
        return check.proof
    return Response(
        {
            "detail": check.message
            or gettext("This act is an electronic signature: confirm who you are."),
            "code": check.refusal,
            "meaning": meaning.display(),
        },
        status=status.HTTP_403_FORBIDDEN,
    )
