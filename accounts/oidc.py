"""Signing in through the hospital's OpenID Connect provider (issue 16).

mozilla-django-oidc does the protocol (authorization code with PKCE, the token request, the
ID token's signature and nonce, userinfo); this module decides who the person is here:

- the username claim names the user; the hospital claim must name a hospital we have (through
  ``OFFLABEL_OIDC_HOSPITAL_MAP``) and, for a known user, the user's own hospital;
- every role value must map to a role we have (``OFFLABEL_OIDC_ROLE_MAP``; a value mapped to
  null is ignored): a value we do not know is refused, not dropped, because a person who
  silently loses a role at sign-in finds out at the bedside, and a mapping mistake must show
  the day it is made;
- an unknown person is refused unless their hospital creates users at first sign-in
  (``Hospital.oidc_create_users``); a known one has their roles set to the claims' at every
  sign-in, each change in the audit trail;
- the ID token's ``amr``/``acr`` say whether the provider asked for a second factor
  (``OFFLABEL_OIDC_MFA_AMR``/``_ACR``), which then stands for ours; its ``auth_time`` is when the
  person proved who they are (signatures ask again after a few minutes).

Every refusal is a failed sign-in in the audit trail with the reason, and the reason is shown
on the sign-in page. The callback (``accounts.oidc_views``) calls this backend directly rather
than through ``django.contrib.auth.authenticate``: django-axes would count a refused provider
sign-in against the username ``None`` and the client address, and after five of them lock out
every provider sign-in from that address (a whole ward behind one NAT), and it would store the
authorization code with the attempt. The provider has already throttled the password.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.translation import gettext
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from accounts.models import Hospital, User
from accounts.reauth import authentication_mark
from accounts.roles import Role
from audit.actions import AuditAction
from audit.services import audit_record

LOGGER = logging.getLogger(__name__)

BACKEND_PATH = "accounts.oidc.OfflabelOIDCBackend"

# Session keys. The ID token is kept for the sign-out (id_token_hint); amr/acr for whoever asks
# how the person signed in; the MFA key is read by the second-factor step (accounts.mfa).
SESSION_ID_TOKEN = "oidc_id_token"  # noqa: S105 (a session key, not a secret)
SESSION_AMR = "offlabel_oidc_amr"
SESSION_ACR = "offlabel_oidc_acr"
SESSION_MFA_VIA_PROVIDER = "offlabel_mfa_via_provider"

# Roles a hospital's provider may give: a national rules steward belongs to no hospital.
ROLES_FROM_PROVIDER = frozenset(str(role) for role in Role if role != Role.RULE_STEWARD)


class SignInRefused(Exception):
    """The provider vouched for someone we will not sign in. ``message`` is for the person at the
    sign-in page; ``reason`` goes to the audit trail."""

    def __init__(
        self,
        message: str,
        reason: str,
        *,
        username: str = "",
        user: User | None = None,
        hospital: Hospital | None = None,
    ) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.username = username
        self.user = user
        self.hospital = hospital if hospital is not None else getattr(user, "hospital", None)


def sign_in_refusal_record(request: HttpRequest, refusal: SignInRefused) -> None:
    """A failed sign-in in the audit trail, with the reason (never a token or a code)."""
    address = request.META.get("REMOTE_ADDR", "")
    who = refusal.username or getattr(refusal.user, "username", "") or "?"
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type=User._meta.label_lower,
        object_id=str(refusal.user.pk) if refusal.user is not None else "",
        hospital=refusal.hospital,
        summary=f"Provider sign-in refused for {who[:150]!r}"
        + (f" from {address}" if address else "")
        + f": {refusal.reason}",
    )


# --- Settings, with the provider's discovery document filling the endpoints ----------------

_DISCOVERED_FROM = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
    "OIDC_OP_ISSUER": "issuer",
}
_DISCOVERY_TTL_SECONDS = 3600
_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def oidc_enabled() -> bool:
    return bool(getattr(settings, "OFFLABEL_OIDC_ENABLED", False))


def provider_metadata() -> dict[str, Any]:
    """The provider's discovery document (``OIDC_OP_DISCOVERY``), read at most once an hour per
    process; {} when none is configured."""
    url = str(getattr(settings, "OIDC_OP_DISCOVERY", "") or "")
    if not url:
        return {}
    if "/.well-known/" not in url:
        url = url.rstrip("/") + "/.well-known/openid-configuration"
    cached = _discovery_cache.get(url)
    if cached is not None and time.monotonic() - cached[0] < _DISCOVERY_TTL_SECONDS:
        return cached[1]
    response = requests.get(
        url, timeout=import_from_settings("OIDC_TIMEOUT", 10), allow_redirects=False
    )
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} is not a discovery document")
    _discovery_cache[url] = (time.monotonic(), document)
    return document


def oidc_setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's ``get_settings``: the setting when it is set, else the endpoint the
    provider's discovery document names."""
    value = import_from_settings(attr, *default) if default else getattr(settings, attr, None)
    if attr in _DISCOVERED_FROM and not value:
        value = provider_metadata().get(_DISCOVERED_FROM[attr]) or (default[0] if default else None)
    if value is None and not default:
        return import_from_settings(attr)  # ImproperlyConfigured naming the setting
    return value


def provider_logout_url(request: HttpRequest) -> str:
    """Where to send the browser so the provider's session ends too (OpenID Connect
    RP-Initiated Logout), or "" when this session did not come from the provider or the
    provider has no end-session endpoint."""
    id_token = request.session.get(SESSION_ID_TOKEN)
    end_session = str(oidc_setting("OIDC_OP_LOGOUT_ENDPOINT", "") or "") if id_token else ""
    if not end_session:
        return ""
    params = {
        "id_token_hint": id_token,
        "client_id": oidc_setting("OIDC_RP_CLIENT_ID"),
        "post_logout_redirect_uri": request.build_absolute_uri(
            resolve_url(settings.LOGOUT_REDIRECT_URL)
        ),
    }
    return f"{end_session}{'&' if '?' in end_session else '?'}{urlencode(params)}"


def logout_destination(request: HttpRequest) -> str:
    """mozilla-django-oidc's ``OIDC_OP_LOGOUT_URL_METHOD``: its own /oidc/logout/ ends the
    provider's session as our sign-out does, else goes to the sign-in page."""
    return provider_logout_url(request) or resolve_url(settings.LOGOUT_REDIRECT_URL)


# --- Claims -> hospital, roles ----------------------------------------------------------


@dataclass(frozen=True)
class MappedClaims:
    username: str
    hospital: Hospital
    roles: frozenset[str]
    email: str = ""
    first_name: str = ""
    last_name: str = ""


def _claim_values(value: Any) -> list[str]:
    """A claim holding one value or several (a JSON list, or one string separated by spaces or
    commas, as some providers send groups)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [part for part in str(value).replace(",", " ").split() if part]


def claims_map(claims: dict[str, Any]) -> MappedClaims:
    """The username, hospital and roles the claims give, or ``SignInRefused`` saying why not."""
    username_claim = settings.OFFLABEL_OIDC_CLAIM_USERNAME
    username = str(claims.get(username_claim) or "").strip()
    if not username:
        raise SignInRefused(
            gettext("The provider did not say who you are (no %(claim)s claim).")
            % {"claim": username_claim},
            f"no {username_claim!r} claim",
        )

    hospital_claim = settings.OFFLABEL_OIDC_CLAIM_HOSPITAL
    hospital_values = _claim_values(claims.get(hospital_claim))
    if len(hospital_values) != 1:
        raise SignInRefused(
            gettext(
                "The provider must name exactly one hospital for you (claim %(claim)s); "
                "ask your hospital's identity team."
            )
            % {"claim": hospital_claim},
            f"{hospital_claim!r} claim is {claims.get(hospital_claim)!r}",
            username=username,
        )
    hospital_map: dict[str, str | None] = settings.OFFLABEL_OIDC_HOSPITAL_MAP
    hospital_code = hospital_map.get(hospital_values[0], hospital_values[0])
    hospital = Hospital.objects.filter(code=hospital_code).first() if hospital_code else None
    if hospital is None:
        raise SignInRefused(
            gettext(
                "The provider says you belong to hospital “%(value)s”, which offlabel does not "
                "know; ask your hospital's identity team."
            )
            % {"value": hospital_values[0]},
            f"unknown hospital {hospital_values[0]!r} in claim {hospital_claim!r}",
            username=username,
        )

    roles_claim = settings.OFFLABEL_OIDC_CLAIM_ROLES
    role_map: dict[str, str | None] = settings.OFFLABEL_OIDC_ROLE_MAP
    roles: set[str] = set()
    unknown: list[str] = []
    for value in _claim_values(claims.get(roles_claim)):
        if value in role_map and role_map[value] is None:
            continue  # a group of the provider's that does not concern us, by configuration
        role = role_map.get(value, value)
        if role in ROLES_FROM_PROVIDER:
            roles.add(str(role))
        else:
            unknown.append(value)
    if unknown:
        raise SignInRefused(
            gettext(
                "The provider gives you a role offlabel does not have (%(values)s); ask your "
                "hospital's identity team to correct the role mapping."
            )
            % {"values": ", ".join(unknown)},
            f"unknown role value(s) {unknown!r} in claim {roles_claim!r}",
            username=username,
            hospital=hospital,
        )
    return MappedClaims(
        username=username,
        hospital=hospital,
        roles=frozenset(roles),
        email=str(claims.get("email") or ""),
        first_name=str(claims.get("given_name") or ""),
        last_name=str(claims.get("family_name") or ""),
    )


# --- Writes: the user created at first sign-in, the roles set at every sign-in ----------------


def oidc_user_create(*, mapped: MappedClaims) -> User:
    user = User(
        username=mapped.username,
        hospital=mapped.hospital,
        email=mapped.email,
        first_name=mapped.first_name[:150],
        last_name=mapped.last_name[:150],
    )
    user.set_unusable_password()  # signs in through the provider only
    try:
        user.full_clean()
    except ValidationError as exc:
        raise SignInRefused(
            gettext("Your account could not be created: %(problem)s")
            % {"problem": " ".join(exc.messages)},
            f"account not creatable: {exc.messages}",
            username=mapped.username,
            hospital=mapped.hospital,
        ) from None
    with transaction.atomic():
        user.save()
        user.groups.set(Group.objects.filter(name__in=mapped.roles))
        audit_record(
            actor=None,
            action=AuditAction.USER_CREATED_AT_PROVIDER_SIGN_IN,
            target=user,
            hospital=mapped.hospital,
            summary=f"{user.username} created at first sign-in through the provider, "
            f"roles: {', '.join(sorted(mapped.roles)) or 'none'}",
            after={"username": user.username, "roles": sorted(mapped.roles)},
        )
    return user


def oidc_user_roles_sync(*, user: User, roles: frozenset[str]) -> User:
    """The user's roles become the claims' roles; a change is an audit event."""
    current = frozenset(user.groups.values_list("name", flat=True))
    if current == roles:
        return user
    added, removed = sorted(roles - current), sorted(current - roles)
    with transaction.atomic():
        user.groups.set(Group.objects.filter(name__in=roles))
        changes = [f"+{role}" for role in added] + [f"-{role}" for role in removed]
        audit_record(
            actor=None,
            action=AuditAction.USER_ROLES_SET_BY_PROVIDER,
            target=user,
            hospital=user.hospital,
            summary=f"Roles of {user.username} set by the provider's claims at sign-in: "
            + ", ".join(changes),
            before={"roles": sorted(current)},
            after={"roles": sorted(roles)},
        )
    return user


# --- What the sign-in proved ------------------------------------------------------------


@dataclass
class ProviderAuthentication:
    """From the verified ID token: when and how the person authenticated at the provider."""

    id_token: str = ""
    auth_time: datetime | None = None
    amr: list[str] = field(default_factory=list)
    acr: str = ""

    @property
    def second_factor(self) -> bool:
        amr_mfa = set(settings.OFFLABEL_OIDC_MFA_AMR) & set(self.amr)
        acr_mfa = bool(self.acr) and self.acr in settings.OFFLABEL_OIDC_MFA_ACR
        return bool(amr_mfa) or acr_mfa

    @property
    def method(self) -> str:
        return "oidc+mfa" if self.second_factor else "oidc"

    @classmethod
    def from_payload(cls, id_token: str, payload: dict[str, Any]) -> ProviderAuthentication:
        auth_time = payload.get("auth_time")
        at = None
        if isinstance(auth_time, int | float) and not isinstance(auth_time, bool):
            at = datetime.fromtimestamp(auth_time, tz=UTC)
        amr = payload.get("amr")
        return cls(
            id_token=id_token,
            auth_time=at,
            amr=[str(v) for v in amr] if isinstance(amr, list) else [],
            acr=str(payload.get("acr") or ""),
        )


def provider_sign_in_record(request: HttpRequest, proof: ProviderAuthentication) -> None:
    """After ``login`` (which starts a new session): what the provider proved, in the session.
    Signatures count from the provider's auth_time, not from now: a silent sign-in on the
    strength of a provider session hours old is not a fresh authentication."""
    session = request.session
    session[SESSION_ID_TOKEN] = proof.id_token
    session[SESSION_AMR] = proof.amr
    session[SESSION_ACR] = proof.acr
    if proof.second_factor:
        session[SESSION_MFA_VIA_PROVIDER] = {"amr": proof.amr, "acr": proof.acr}
    else:
        session.pop(SESSION_MFA_VIA_PROVIDER, None)
    now = datetime.now(tz=UTC)
    at = min(proof.auth_time, now) if proof.auth_time is not None else now
    authentication_mark(request, proof.method, at=at)


# --- The backend -------------------------------------------------------------------------


class OfflabelOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, deciding who the person is with ``claims_map``.

    Permissions are left to ``accounts.backends.OfflabelBackend`` (the same users and groups):
    this backend answers none, so a permission check does not read the groups twice. Loading the
    session's user goes through OfflabelBackend's ``get_user`` too (the hospital with it, and an
    inactive user is nobody).
    """

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proof = ProviderAuthentication()
        self.mapped: MappedClaims | None = None

    # Only the callback's call fits this signature: Django's authenticate() with a username and
    # a password passes this backend by, so a ?code= on the sign-in page reaches nobody.
    def authenticate(
        self,
        request: HttpRequest | None,
        nonce: str | None = None,
        code_verifier: str | None = None,
    ) -> User | None:
        try:
            return self.sign_in(request, nonce=nonce, code_verifier=code_verifier)
        except SignInRefused:
            return None

    def sign_in(
        self, request: HttpRequest | None, *, nonce: str | None, code_verifier: str | None
    ) -> User | None:
        """The user the provider's answer names, or ``SignInRefused``."""
        try:
            user = super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except requests.RequestException as exc:
            LOGGER.warning("OIDC: the provider could not be asked: %s", exc)
            raise SignInRefused(
                gettext("The sign-in service did not answer as expected; please try again."),
                f"provider request failed: {type(exc).__name__}",
            ) from None
        except SuspiciousOperation as exc:
            raise SignInRefused(
                gettext("The sign-in service's answer could not be verified; please try again."),
                f"ID token not accepted: {exc}",
            ) from None
        return user

    def store_tokens(self, access_token: str, id_token: str) -> None:
        # Written to the session by the callback after login(), which starts a new session.
        self.proof.id_token = id_token

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The library checks the signature and the nonce; the audience and the issuer are
        checked here (it leaves both to us)."""
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is not addressed to this client (aud)")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token with several audiences names another azp")
        issuer = oidc_setting("OIDC_OP_ISSUER", "")
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation(f"ID token issuer {payload.get('iss')!r} is not {issuer!r}")
        if "nonce" in kwargs:  # the ID token itself, not a signed userinfo answer
            self.proof = ProviderAuthentication.from_payload(token, payload)
        return payload

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            # OpenID Connect Core 5.3.2: the userinfo answer must be about the same subject.
            raise SignInRefused(
                gettext("The sign-in service's answer could not be verified; please try again."),
                "userinfo sub differs from the ID token's",
            )
        # Providers put the hospital and roles in the ID token, in userinfo, or in both.
        claims = dict(userinfo)
        for name in (
            settings.OFFLABEL_OIDC_CLAIM_USERNAME,
            settings.OFFLABEL_OIDC_CLAIM_HOSPITAL,
            settings.OFFLABEL_OIDC_CLAIM_ROLES,
        ):
            if name not in claims and name in payload:
                claims[name] = payload[name]
        self.verify_claims(claims)
        assert self.mapped is not None
        user = self.filter_users_by_claims(claims).first()
        if user is None:
            return self.create_user(claims)
        return self.update_user(user, claims)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        self.mapped = claims_map(claims)
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        username = self.mapped.username if self.mapped else ""
        return User.objects.select_related("hospital").filter(username=username)

    def create_user(self, claims: dict[str, Any]) -> User:
        mapped = self.mapped
        assert mapped is not None
        if not mapped.hospital.oidc_create_users:
            raise SignInRefused(
                gettext(
                    "You have no offlabel account yet, and %(hospital)s does not create accounts "
                    "at first sign-in: ask your hospital administrator to create yours."
                )
                % {"hospital": mapped.hospital.name},
                f"no user {mapped.username!r} and {mapped.hospital.code} does not create users "
                "at sign-in",
                username=mapped.username,
                hospital=mapped.hospital,
            )
        return oidc_user_create(mapped=mapped)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        mapped = self.mapped
        assert mapped is not None
        if user.hospital_id != mapped.hospital.pk:
            raise SignInRefused(
                gettext(
                    "The provider names another hospital than your account's; ask your "
                    "hospital administrator."
                ),
                f"claims name {mapped.hospital.code}, the user belongs to "
                f"{user.hospital.code if user.hospital else 'no hospital'}",
                user=user,
            )
        if user.is_superuser or user.is_staff:
            # A provider account that happens to share a system administrator's username must
            # not open that account: administrators sign in with their password (and factor).
            raise SignInRefused(
                gettext("This account signs in with its password, not the hospital sign-in."),
                "the user is a system administrator (superuser or staff)",
                user=user,
            )
        if not user.is_active:
            raise SignInRefused(
                gettext("Your offlabel account is switched off; ask your hospital administrator."),
                "the user is inactive",
                user=user,
            )
        return oidc_user_roles_sync(user=user, roles=mapped.roles)

    # Sessions and permissions: OfflabelBackend's.
    def get_user(self, user_id: Any) -> User | None:
        from accounts.backends import OfflabelBackend

        return OfflabelBackend().get_user(user_id)

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return False
