"""The pages of the provider sign-in: start it, come back from it, re-authenticate, sign out.

- ``OidcSignInView`` (``oidc_authentication_init``): mozilla-django-oidc's redirect to the
  provider, with the endpoints from discovery; 404 while single sign-on is off.
- ``OidcReauthView`` (``oidc-reauth``, ``?next=``): the same with ``prompt=login`` and
  ``max_age=0``, for a signature: the provider must ask for the password again, and the
  ``auth_time`` it returns must not be older than this request (a provider that ignores both
  and answers from its session is refused).
- ``OidcCallbackView`` (``oidc_authentication_callback``): checks state, nonce and PKCE as the
  library does, then asks ``accounts.oidc.OfflabelOIDCBackend`` directly (why not through
  ``authenticate()``: see that module) and either signs in, re-authenticates, or shows why not.
- ``SignOutView`` (``logout``): Django's sign-out; after a provider sign-in it then sends the
  browser to the provider's end-session endpoint with the ID token as hint, so the provider's
  session ends too and the next sign-in asks for the password again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.views import LogoutView, redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.translation import gettext
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    get_next_url,
)

from accounts.oidc import (
    BACKEND_PATH,
    OfflabelOIDCBackend,
    SignInRefused,
    oidc_enabled,
    oidc_setting,
    provider_logout_url,
    provider_sign_in_record,
    sign_in_refusal_record,
)
from audit.actions import AuditAction
from audit.services import audit_record

SESSION_REAUTH = "offlabel_oidc_reauth"


class OidcSignInView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(oidc_setting)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads the endpoint when the view is made; discovery may need the network,
        # so only when single sign-on is on.
        if oidc_enabled():
            super().__init__(*args, **kwargs)
        else:
            super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)


class OidcReauthView(OidcSignInView):
    """Re-authenticate the signed-in person with the provider (``prompt=login``, ``max_age=0``)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        response: HttpResponse = super().get(request)
        state = parse_qs(urlsplit(response["Location"]).query).get("state", [""])[0]
        request.session[SESSION_REAUTH] = {
            "state": state,
            "requested_at": time.time(),
            "user_id": request.user.pk,
            "next": get_next_url(request, "next") or resolve_url(settings.LOGIN_REDIRECT_URL),
        }
        return response

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        params: dict[str, str] = dict(super().get_extra_params(request))
        params.update({"prompt": "login", "max_age": "0"})
        return params


class OidcCallbackView(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        state = request.GET.get("state", "")
        reauth = request.session.get(SESSION_REAUTH)
        if not (isinstance(reauth, dict) and state and reauth.get("state") == state):
            reauth = None
        else:
            request.session.pop(SESSION_REAUTH)
        states = request.session.get("oidc_states")
        entry: dict[str, Any] = {}
        known = isinstance(states, dict) and state in states
        if isinstance(states, dict) and known:
            entry = states.pop(state)  # once: a replayed answer finds nothing
            request.session.modified = True
        if request.GET.get("error"):
            error = str(request.GET["error"])[:60]
            return self._refused(
                reauth,
                SignInRefused(
                    gettext("The sign-in service did not sign you in (%(error)s).")
                    % {"error": error},
                    f"the provider answered error={error!r}",
                ),
            )
        if not known or "code" not in request.GET:
            return self._refused(
                reauth,
                SignInRefused(
                    gettext("This sign-in link has expired or was already used; please try again."),
                    "unknown or reused state",
                ),
            )
        # As the library does: save, then reload, so what other tabs wrote meanwhile is kept.
        request.session.save()
        request.session = request.session.__class__(request.session.session_key)

        backend = OfflabelOIDCBackend()
        try:
            user = backend.sign_in(
                request, nonce=entry.get("nonce"), code_verifier=entry.get("code_verifier")
            )
        except SignInRefused as refusal:
            return self._refused(reauth, refusal)
        if user is None:
            return self._refused(
                reauth,
                SignInRefused(
                    gettext(
                        "The sign-in service's answer could not be verified; please try again."
                    ),
                    "no ID token",
                ),
            )
        proof = backend.proof
        if reauth is not None:
            return self._reauthenticated(reauth, user, proof)

        next_url = request.session.get("oidc_login_next") or resolve_url(
            settings.LOGIN_REDIRECT_URL
        )
        # Read by the sign-in signal (accounts.reauth) and the audit of the sign-in.
        request._offlabel_auth_method = proof.method  # type: ignore[attr-defined]
        auth.login(request, user, backend=BACKEND_PATH)
        provider_sign_in_record(request, proof)
        return HttpResponseRedirect(next_url)

    def _reauthenticated(self, reauth: dict[str, Any], user: Any, proof: Any) -> HttpResponse:
        request = self.request
        next_url = str(reauth.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))
        if user.pk != reauth.get("user_id") or user.pk != request.user.pk:
            # Somebody else signed in at the provider: whoever is at this keyboard is not the
            # person this session belongs to.
            refusal = SignInRefused(
                gettext("You re-authenticated as someone else, so you have been signed out."),
                f"re-authentication returned {user.username!r}, the session is "
                f"{getattr(request.user, 'username', '?')!r}",
                user=user,
            )
            sign_in_refusal_record(request, refusal)
            auth.logout(request)
            messages.error(request, refusal.message)
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        skew = timedelta(seconds=settings.OFFLABEL_OIDC_CLOCK_SKEW_SECONDS)
        requested_at = datetime.fromtimestamp(float(reauth["requested_at"]), tz=UTC)
        # auth_time has whole seconds: the request's second counts as "not older".
        requested_at = requested_at.replace(microsecond=0)
        if proof.auth_time is None or proof.auth_time < requested_at - skew:
            refusal = SignInRefused(
                gettext(
                    "The sign-in service did not ask for your password again, so this does not "
                    "count as re-authenticating."
                ),
                f"re-authentication with auth_time {proof.auth_time} before the request "
                f"at {requested_at}",
                user=user,
            )
            sign_in_refusal_record(request, refusal)
            messages.error(request, refusal.message)
            return HttpResponseRedirect(next_url)
        provider_sign_in_record(request, proof)
        audit_record(
            actor=user,
            action=AuditAction.REAUTHENTICATED_WITH_PROVIDER,
            target=user,
            summary=f"{user.username} re-authenticated with the provider ({proof.method})",
        )
        return HttpResponseRedirect(next_url)

    def _refused(self, reauth: dict[str, Any] | None, refusal: SignInRefused) -> HttpResponse:
        request = self.request
        sign_in_refusal_record(request, refusal)
        messages.error(request, refusal.message)
        if reauth is not None:  # the person stays signed in; the signature waits
            return HttpResponseRedirect(str(reauth.get("next") or "/"))
        if request.user.is_authenticated:
            auth.logout(request)
        return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))


class SignOutView(LogoutView):
    """Django's sign-out, then the provider's (RP-initiated logout) after a provider sign-in."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        provider_url = provider_logout_url(request) if oidc_enabled() else ""
        response: HttpResponse = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(provider_url) if provider_url else response
