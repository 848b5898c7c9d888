"""The second-factor pages (/accounts/2fa/): add an authenticator app or a passkey, give a
factor at sign-in, recovery codes, the list of one's factors. Thin: forms, then the services
of ``accounts.mfa`` and ``accounts.passkeys``.

A refusal that leaves an audit row answers with the form or a JSON error, never an
exception: ``ATOMIC_REQUESTS`` would roll the row (and django-otp's failure count) back.
"""

from __future__ import annotations

import json
from base64 import b32encode
from binascii import unhexlify
from typing import Any

import django_otp
import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import passkeys as webauthn_ceremonies
from accounts.mfa import (
    MfaError,
    code_check,
    code_refusal_message,
    device_remove,
    factor_count,
    has_any_device,
    last_factor_kept,
    mfa_required,
    mfa_satisfied,
    passkeys,
    recovery_code_display,
    recovery_codes_generate,
    recovery_codes_left,
    second_factor_owed,
    second_factor_record,
    sign_in_method,
    totp_devices,
    totp_enrol,
    totp_key_new,
)
from accounts.models import PasskeyCredential, User
from accounts.reauth import authentication_mark

SESSION_TOTP_PENDING_KEY = "offlabel_mfa_totp_pending_key"
SESSION_NEW_RECOVERY_CODES = "offlabel_mfa_new_recovery_codes"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The six digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class TotpEnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=16,
        help_text=_("The six digits the app shows after you added the account."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
    name = forms.CharField(
        label=_("Name of this device"),
        max_length=64,
        required=False,
        help_text=_("So you can tell your devices apart, e.g. “work phone”."),
    )


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _may_add_factor(request: HttpRequest) -> bool:
    """A new factor needs this session to have given one already, unless the user has none:
    else a stolen password would be enough to add the thief's own authenticator."""
    return mfa_satisfied(request) or not has_any_device(_user(request))


def _signed_in_with(request: HttpRequest, device: Any, factor: str) -> None:
    """The session gave its second factor: django-otp records the device, the signature
    re-authentication records when and how."""
    method = sign_in_method(request, factor)
    django_otp.login(request, device)
    authentication_mark(request, method)
    second_factor_record(user=_user(request), ok=True, method=method, device=device)


def _recovery_codes_show_once(request: HttpRequest, codes: list[str]) -> None:
    request.session[SESSION_NEW_RECOVERY_CODES] = codes


# --- Overview ------------------------------------------------------------------------------


@login_required
def manage_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "accounts/mfa/manage.html",
        {
            "required": mfa_required(user),
            "via_provider": mfa_satisfied(request) and not user.is_verified(),  # type: ignore[attr-defined]
            "totp_devices": totp_devices(user),
            "passkeys": passkeys(user),
            "codes_left": recovery_codes_left(user),
            "factor_count": factor_count(user),
        },
    )


@login_required
def enrol_view(request: HttpRequest) -> HttpResponse:
    """The first factor: chosen here, asked for at sign-in when the role requires one."""
    next_url = _next_url(request)
    if not _may_add_factor(request):
        return redirect(_with_next("mfa-verify", next_url))
    return render(
        request,
        "accounts/mfa/enrol.html",
        {
            "next": next_url,
            "required": mfa_required(_user(request)),
            "owed": second_factor_owed(request),
        },
    )


# --- Authenticator app (TOTP) --------------------------------------------------------------


def _totp_qr(user: User, key_hex: str) -> tuple[str, str]:
    """The QR code (an SVG data: URI, which the Content Security Policy allows as an image)
    and the secret in base32 groups of four, for typing in by hand."""
    url = TOTPDevice(user=user, key=key_hex, name="").config_url  # issuer: OTP_TOTP_ISSUER
    qr_uri = segno.make(url, error="m").svg_data_uri(scale=5, border=2)
    secret = b32encode(unhexlify(key_hex)).decode().rstrip("=")
    return qr_uri, " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def totp_enrol_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    next_url = _next_url(request)
    if not _may_add_factor(request):
        return redirect(_with_next("mfa-verify", next_url))
    # The secret waits in the session until a first code proves the app has it: nothing is
    # stored in the database before then.
    key_hex = request.session.get(SESSION_TOTP_PENDING_KEY)
    if not key_hex:
        key_hex = totp_key_new()
        request.session[SESSION_TOTP_PENDING_KEY] = key_hex
    form = TotpEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        first_factor = factor_count(user) == 0
        try:
            device = totp_enrol(
                user=user,
                key_hex=key_hex,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"] or gettext("Authenticator app"),
            )
        except MfaError as refusal:
            form.add_error("code", str(refusal))
        else:
            request.session.pop(SESSION_TOTP_PENDING_KEY, None)
            if not mfa_satisfied(request):
                _signed_in_with(request, device, "totp")
            messages.success(request, gettext("Authenticator app added."))
            if first_factor and recovery_codes_left(user) == 0:
                _recovery_codes_show_once(request, recovery_codes_generate(user=user)[1])
                return redirect(_with_next("mfa-recovery-codes", next_url))
            return redirect(next_url if first_factor else reverse("mfa-manage"))
    qr_uri, secret = _totp_qr(user, key_hex)
    return render(
        request,
        "accounts/mfa/totp_enrol.html",
        {"form": form, "qr_uri": qr_uri, "secret": secret, "next": next_url},
    )


# --- Giving a factor at sign-in ------------------------------------------------------------


@login_required
def verify_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    next_url = _next_url(request)
    if mfa_satisfied(request):
        return redirect(next_url)
    if not has_any_device(user):
        return redirect(_with_next("mfa-enrol", next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = code_check(user=user, code=form.cleaned_data["code"])
        if check.ok and check.kind is not None:
            _signed_in_with(request, check.device, "totp" if check.kind == "totp" else "recovery")
            if check.kind == "recovery":
                left = recovery_codes_left(user)
                messages.warning(
                    request,
                    gettext(
                        "You used a recovery code; %(left)s left. Generate new ones if you are "
                        "running out."
                    )
                    % {"left": left},
                )
            return redirect(next_url)
        second_factor_record(
            user=user,
            ok=False,
            method="code",
            why="throttled" if check.locked_until else "wrong code",
        )
        form.add_error("code", code_refusal_message(check))
    return render(
        request,
        "accounts/mfa/verify.html",
        {
            "form": form,
            "next": next_url,
            "has_passkey": passkeys(user).exists(),
            "has_totp": totp_devices(user).exists(),
        },
    )


# --- Recovery codes ------------------------------------------------------------------------


@login_required
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    """The new codes, once: they leave the session as they are shown."""
    codes = request.session.pop(SESSION_NEW_RECOVERY_CODES, None) or []
    return render(
        request,
        "accounts/mfa/recovery_codes.html",
        {
            "codes": [recovery_code_display(c) for c in codes],
            "codes_left": recovery_codes_left(_user(request)),
            "next": _next_url(request),
        },
    )


@login_required
def recovery_regenerate_view(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation (the old codes stop working); POST makes new ones."""
    user = _user(request)
    if request.method == "POST":
        _recovery_codes_show_once(request, recovery_codes_generate(user=user)[1])
        return redirect("mfa-recovery-codes")
    return render(
        request,
        "accounts/mfa/recovery_regenerate.html",
        {"codes_left": recovery_codes_left(user)},
    )


# --- Removing a factor ---------------------------------------------------------------------

_REMOVABLE: dict[str, type[TOTPDevice] | type[PasskeyCredential]] = {
    "totp": TOTPDevice,
    "passkey": PasskeyCredential,
}


@login_required
def device_remove_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    user = _user(request)
    model = _REMOVABLE.get(kind)
    if model is None:
        raise Http404
    device = get_object_or_404(model.objects.filter(user=user), pk=pk)
    last_one = last_factor_kept(user)
    if request.method == "POST":
        try:
            device_remove(user=user, device=device)
        except MfaError as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, gettext("%(name)s removed.") % {"name": device.name})
        return redirect("mfa-manage")
    return render(
        request,
        "accounts/mfa/device_remove.html",
        {"device": device, "kind": kind, "last_one": last_one},
    )


# --- Passkeys ------------------------------------------------------------------------------


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _json_refusal(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@login_required
def passkey_register_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if not _may_add_factor(request):
        return redirect(_with_next("mfa-verify", next_url))
    return render(request, "accounts/mfa/passkey_register.html", {"next": next_url})


@require_POST
@login_required
def passkey_register_options_view(request: HttpRequest) -> JsonResponse:
    if not _may_add_factor(request):
        return _json_refusal(gettext("Give your second factor first."), status=403)
    try:
        return JsonResponse(webauthn_ceremonies.registration_options(request, _user(request)))
    except MfaError as refusal:
        return _json_refusal(str(refusal))


@require_POST
@login_required
def passkey_register_verify_view(request: HttpRequest) -> JsonResponse:
    user = _user(request)
    if not _may_add_factor(request):
        return _json_refusal(gettext("Give your second factor first."), status=403)
    body = _json_body(request)
    next_url = str(body.get("next") or "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("home")
    first_factor = factor_count(user) == 0
    try:
        passkey = webauthn_ceremonies.passkey_register(
            request=request,
            user=user,
            credential=body.get("credential") or {},
            name=str(body.get("name") or ""),
        )
    except MfaError as refusal:
        return _json_refusal(str(refusal))
    if not mfa_satisfied(request):
        _signed_in_with(request, passkey, "passkey")
    messages.success(request, gettext("Passkey added."))
    if first_factor and recovery_codes_left(user) == 0:
        _recovery_codes_show_once(request, recovery_codes_generate(user=user)[1])
        return JsonResponse({"redirect": _with_next("mfa-recovery-codes", next_url)})
    return JsonResponse({"redirect": reverse("mfa-manage")})


@login_required
def passkey_authenticate_view(request: HttpRequest) -> HttpResponse:
    """Give a passkey: at sign-in (the second factor) or before a signature (the
    re-authentication); ``next`` is where to go after."""
    user = _user(request)
    next_url = _next_url(request)
    if not passkeys(user).exists():
        return redirect(
            _with_next("mfa-enrol" if not has_any_device(user) else "mfa-verify", next_url)
        )
    return render(
        request,
        "accounts/mfa/passkey_authenticate.html",
        {"next": next_url, "signing_in": second_factor_owed(request)},
    )


@require_POST
@login_required
def passkey_authenticate_options_view(request: HttpRequest) -> JsonResponse:
    try:
        return JsonResponse(webauthn_ceremonies.authentication_options(request, _user(request)))
    except MfaError as refusal:
        return _json_refusal(str(refusal))


@require_POST
@login_required
def passkey_authenticate_verify_view(request: HttpRequest) -> JsonResponse:
    user = _user(request)
    body = _json_body(request)
    next_url = str(body.get("next") or "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("home")
    signing_in = second_factor_owed(request)
    try:
        passkey = webauthn_ceremonies.passkey_authenticate(
            request=request, user=user, credential=body.get("credential") or {}
        )
    except MfaError as refusal:
        second_factor_record(user=user, ok=False, method="passkey", why=str(refusal)[:200])
        return _json_refusal(str(refusal))
    if signing_in:
        _signed_in_with(request, passkey, "passkey")
    else:
        # Proving again who is at the keyboard, e.g. before a signature.
        django_otp.login(request, passkey)
        authentication_mark(request, "passkey")
        second_factor_record(user=user, ok=True, method="passkey", device=passkey)
    return JsonResponse({"redirect": next_url})
