"""Second factors: who must give one, whether this session has, and the services that add,
check and remove them.

A second factor is a TOTP code from an authenticator app (django-otp's ``TOTPDevice``), a
passkey (``accounts.models.PasskeyCredential``, itself a django-otp device) or a single-use
recovery code (django-otp's ``StaticDevice``). A session has given one when django-otp
recorded the device (``django_otp.login``: ``request.user.is_verified()``) or when the
hospital's OpenID Connect provider said it asked for one (``SESSION_PROVIDER_MFA``, written by
``accounts.oidc``).

Who must: the roles of the user's hospital's own list (``Hospital.mfa_required_roles``) when it
has one, else the deployment's ``MFA_REQUIRED_ROLES``. A user who must and has not yet given
one in this session reaches only the second-factor pages, the sign-out and the language switch
(``SecondFactorMiddleware``).

Codes are throttled by django-otp's own back-off (``ThrottlingMixin``: after n failures in a
row a device refuses every code for 2^(n-1) seconds, up to an hour), so guessing six digits
takes years; the password's lockout is django-axes'.
"""

from __future__ import annotations

import re
import time
from binascii import unhexlify
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from accounts.models import PasskeyCredential, User
from accounts.reauth import authentication_last
from audit.actions import AuditAction
from audit.services import audit_record

# Written by the provider's sign-in (accounts.oidc) when the ID token says it asked for a
# second factor: {"amr": [...], "acr": "..."}.
SESSION_PROVIDER_MFA = "offlabel_mfa_via_provider"
# Set at sign-in for someone who has an authenticator app or a passkey although no rule asks it
# of them: having added one, they are asked for it like those who must.
SESSION_FACTOR_HELD = "offlabel_mfa_factor_held"
RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"

# Pages a user who owes a second factor may still reach (URL names), besides static files.
PAGES_BEFORE_SECOND_FACTOR = frozenset(
    {
        "login",
        "logout",
        "set_language",
        # A fresh sign-in at the hospital's provider replaces this one.
        "oidc_authentication_init",
        "oidc_authentication_callback",
        "oidc_logout",
        "mfa-enrol",
        "mfa-totp-enrol",
        "mfa-verify",
        "mfa-recovery-codes",
        "mfa-passkey-register",
        "mfa-passkey-register-options",
        "mfa-passkey-register-verify",
        "passkey-authenticate",
        "passkey-authenticate-options",
        "passkey-authenticate-verify",
    }
)


class MfaError(Exception):
    """A second-factor action refused, with a message to show as is."""


# --- Policy --------------------------------------------------------------------------------


def mfa_required_roles(user: User) -> list[str]:
    """The roles that must use a second factor where this user works."""
    hospital = user.hospital if user.hospital_id is not None else None
    if hospital is not None and hospital.mfa_required_roles:
        return [str(role) for role in hospital.mfa_required_roles]
    return list(settings.MFA_REQUIRED_ROLES)


def mfa_required(user: Any) -> bool:
    """Whether this user must give a second factor at sign-in (and for an API token)."""
    if user is None or not user.is_authenticated:
        return False
    roles = mfa_required_roles(user)
    # No list, no role query: most deployments' physicians cost nothing here.
    return bool(roles) and not user.role_set.isdisjoint(roles)


def mfa_via_provider(request: HttpRequest) -> bool:
    return bool(getattr(request, "session", {}).get(SESSION_PROVIDER_MFA))


def mfa_satisfied(request: HttpRequest) -> bool:
    """This session has given a second factor: one of ours, or the provider's."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if mfa_via_provider(request):
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def second_factor_owed(request: HttpRequest) -> bool:
    """The signed-in user must give a second factor (a rule asks it, or they added one of their
    own accord before this sign-in) and this session has not."""
    user = getattr(request, "user", None)
    held = bool(getattr(request, "session", {}).get(SESSION_FACTOR_HELD))
    return (held or mfa_required(user)) and not mfa_satisfied(request)


def factor_held_mark(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: one query at sign-in, so that a factor added voluntarily protects the
    account too (a password alone no longer opens it)."""
    if request is None or not hasattr(request, "session") or mfa_required(user):
        return
    if factor_count(user) > 0:
        request.session[SESSION_FACTOR_HELD] = True


# --- Reads ---------------------------------------------------------------------------------


def totp_devices(user: User) -> models.QuerySet[TOTPDevice]:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("id")


def passkeys(user: User) -> models.QuerySet[PasskeyCredential]:
    return PasskeyCredential.objects.devices_for_user(user, confirmed=True).order_by("id")


def factor_count(user: User) -> int:
    """Authenticator apps and passkeys: the factors a person uses every day (recovery codes
    are the way back in when those are lost, not a factor of their own)."""
    return totp_devices(user).count() + passkeys(user).count()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def has_any_device(user: User) -> bool:
    return next(iter(devices_for_user(user, confirmed=True)), None) is not None


# --- Codes ---------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s-]+")
TOTP_DIGITS = 6


def code_normalise(code: str) -> str:
    """What people type: spaces and dashes between groups, any case."""
    return _SEPARATORS.sub("", code or "").lower()[:32]


@dataclass(frozen=True)
class CodeCheck:
    device: Device | None = None
    kind: str | None = None  # "totp" or "recovery"
    locked_until: datetime | None = None  # set when a device refused to look (throttled)

    @property
    def ok(self) -> bool:
        return self.device is not None


def code_check(*, user: User, code: str) -> CodeCheck:
    """Try a typed code on the user's authenticator apps (six digits) or recovery codes (the
    rest). A recovery code is spent once it matches; a TOTP code cannot be used twice
    (django-otp keeps the last time step). Each failure extends the device's back-off."""
    code = code_normalise(code)
    if not code:
        return CodeCheck()
    is_totp = code.isdigit() and len(code) == TOTP_DIGITS
    model: type[Device] = TOTPDevice if is_totp else StaticDevice
    locked_until: datetime | None = None
    with transaction.atomic():
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
        for device in devices.order_by("id"):
            allowed, info = device.verify_is_allowed()
            if not allowed:
                until = (info or {}).get("locked_until")
                if until is not None and (locked_until is None or until > locked_until):
                    locked_until = until
                continue
            if device.verify_token(code):
                if not is_totp:
                    left = recovery_codes_left(user)
                    audit_record(
                        actor=user,
                        action=AuditAction.MFA_RECOVERY_CODE_USED,
                        target=device,
                        summary=f"{user.get_username()} used a recovery code ({left} left)",
                        after={"codes_left": left},
                    )
                return CodeCheck(device=device, kind="totp" if is_totp else "recovery")
    return CodeCheck(locked_until=locked_until)


def code_refusal_message(check: CodeCheck) -> str:
    if check.locked_until is not None:
        return gettext("Too many wrong codes in a row: try again after %(time)s.") % {
            "time": formats.time_format(timezone.localtime(check.locked_until), "H:i:s")
        }
    return gettext("That code is not valid. Type the current code of your app, or a recovery code.")


def second_factor_check(user: User, code: str) -> str | None:
    """For the re-authentication before a signature: "totp" or "recovery" when ``code`` is a
    valid code of one of the user's confirmed devices, else None. Throttled like the sign-in;
    the caller audits its own failure."""
    return code_check(user=user, code=code).kind


def second_factor_record(
    *, user: User, ok: bool, method: str, why: str = "", device: Device | None = None
) -> None:
    """Audit a second-factor attempt: given at sign-in, or refused (never the code itself)."""
    if ok:
        audit_record(
            actor=user,
            action=AuditAction.MFA_VERIFIED,
            target=device or user,
            summary=f"{user.get_username()} gave a second factor ({method})",
        )
    else:
        audit_record(
            actor=user,
            action=AuditAction.MFA_FAILED,
            target=user,
            summary=f"Second factor refused for {user.get_username()} ({method})"
            + (f": {why}" if why else ""),
        )


def sign_in_method(request: HttpRequest, factor: str) -> str:
    """ "password+totp", "oidc+passkey": how the session signed in, then the factor."""
    last = authentication_last(request)
    first = (last.method if last is not None and last.method else "password").split("+", 1)[0]
    return f"{first}+{factor}"


# --- Services ------------------------------------------------------------------------------


def totp_key_new() -> str:
    return str(default_key())


def totp_code_matches(key_hex: str, code: str) -> int | None:
    """The time step a first code was made in, if it is valid for the key (one step of
    tolerance each way for the phone's clock)."""
    code = code_normalise(code)
    if not (code.isdigit() and len(code) == TOTP_DIGITS):
        return None
    totp = TOTP(unhexlify(key_hex.encode()), step=30, t0=0, digits=TOTP_DIGITS, drift=0)
    totp.time = time.time()
    if totp.verify(int(code), tolerance=1):
        return int(totp.t())  # t() includes the offset the match needed
    return None


@transaction.atomic
def totp_enrol(*, user: User, key_hex: str, code: str, name: str) -> TOTPDevice:
    """Add an authenticator app once it proved it holds the key with a first valid code."""
    step = totp_code_matches(key_hex, code)
    if step is None:
        raise MfaError(
            gettext(
                "That code does not match. Check the time on your phone and type the code "
                "your app shows now."
            )
        )
    device = TOTPDevice(
        user=user, name=(name or "Authenticator app")[:64], key=key_hex, confirmed=True
    )
    device.last_t = step  # the enrolment code cannot be replayed at the next sign-in
    device.full_clean()
    device.save()
    audit_record(
        actor=user,
        action=AuditAction.MFA_ENROLLED,
        target=device,
        summary=f"{user.get_username()} added an authenticator app ({device.name})",
    )
    return device


@transaction.atomic
def recovery_codes_generate(*, user: User) -> tuple[StaticDevice, list[str]]:
    """Ten new single-use codes; any earlier ones stop working. Only their holder sees them,
    once."""
    device = StaticDevice.objects.filter(user=user).order_by("id").first()
    replaced = 0
    if device is None:
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    else:
        replaced, _ = device.token_set.all().delete()
        device.throttle_reset(commit=False)
        device.confirmed = True
        device.save()
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    audit_record(
        actor=user,
        action=AuditAction.MFA_RECOVERY_CODES_GENERATED,
        target=device,
        summary=f"{user.get_username()} generated {RECOVERY_CODE_COUNT} recovery codes"
        + (f" ({replaced} unused old codes stopped working)" if replaced else ""),
        after={"codes": RECOVERY_CODE_COUNT, "replaced_unused": replaced},
    )
    return device, codes


def recovery_code_display(code: str) -> str:
    """Two groups of four: easier to copy by hand (the dash is ignored when typed back)."""
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def last_factor_kept(user: User) -> bool:
    """A user who must use a second factor may not remove their last authenticator app or
    passkey (the next sign-in would have nothing to ask): the rule the removal page shows and
    the removal enforces."""
    return mfa_required(user) and factor_count(user) <= 1


@transaction.atomic
def device_remove(*, user: User, device: TOTPDevice | PasskeyCredential) -> None:
    """Remove an authenticator app or a passkey; a user who must use a second factor keeps at
    least one (else the next sign-in would have nothing to ask)."""
    if device.user_id != user.pk:
        raise MfaError(gettext("This is not one of your second factors."))
    if last_factor_kept(user):
        raise MfaError(
            gettext(
                "Your role requires a second factor: add another authenticator app or passkey "
                "before removing this one."
            )
        )
    kind = "passkey" if isinstance(device, PasskeyCredential) else "authenticator app"
    label, pk, name = device._meta.label_lower, device.pk, device.name
    device.delete()
    audit_record(
        actor=user,
        action=AuditAction.MFA_REMOVED,
        object_type=label,
        object_id=str(pk),
        summary=f"{user.get_username()} removed a {kind} ({name})",
        before={"name": name},
    )


# --- Middleware ----------------------------------------------------------------------------


class SecondFactorMiddleware:
    """A signed-in user who must give a second factor and has not in this session sees only
    the second-factor pages: every other page sends them to give one (or to add one, if they
    have none yet), and the API answers 403 in JSON. Token-authenticated API calls do not pass
    here signed in: the token itself was issued only against a second factor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if second_factor_owed(request) and not _reachable_before_second_factor(request):
            return _second_factor_demand(request)
        return self.get_response(request)


def _reachable_before_second_factor(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.url_name in PAGES_BEFORE_SECOND_FACTOR


def _second_factor_demand(request: HttpRequest) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {
                "detail": gettext(
                    "A second factor is needed: sign in on the web page and give your code or "
                    "passkey, or ask for an API token with your code (otp)."
                ),
                "code": "second_factor_required",
            },
            status=403,
        )
    user = request.user
    page = "mfa-verify" if has_any_device(user) else "mfa-enrol"  # type: ignore[arg-type]
    next_url = request.get_full_path() if request.method == "GET" else reverse("home")
    target = f"{reverse(page)}?{urlencode({'next': next_url})}"
    if request.headers.get("HX-Request") == "true":
        # An htmx fragment request: have htmx load the whole page instead of swapping it in.
        response = HttpResponse(status=200)
        response["HX-Redirect"] = target
        return response
    return redirect(target)
