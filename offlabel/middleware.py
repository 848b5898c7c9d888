"""Request-wide safeguards: the client's real address, sessions that only people keep alive,
and no copy of a signed-in page in any cache.

``client_ip_address`` is the one answer to "where does this request come from": django-axes
counts failed sign-ins by it (``AXES_CLIENT_IP_CALLABLE``) and the audit trail records it.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

# Sent by the elements that poll (hx-headers on them); see templates/*/_panel.html.
POLL_HEADER = "HTTP_X_OFFLABEL_POLL"


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip_address(request: HttpRequest) -> str | None:
    """The client's address. ``X-Forwarded-For`` is believed only as far as the configured
    proxies go (``TRUSTED_PROXY_COUNT``): each trusted proxy appends the address it was
    called from, so the client is the N-th entry from the right. Entries further left were
    written by the caller and can be anything, so they are never read. With no trusted proxy
    (the default) the header is ignored and the peer address is the client."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        # Not the chain of proxies we were told about: the peer is the only address known.
        return remote
    return _valid_ip(forwarded[-count]) or remote


def is_poll(request: HttpRequest) -> bool:
    """A request the browser makes by itself (htmx ``every``), not one a person made."""
    return request.headers.get("HX-Request") == "true" and bool(request.META.get(POLL_HEADER))


# Where a session notes when its idle expiry was last moved on.
SESSION_RENEWED_AT = "_offlabel_idle_renewed_at"


def session_renewed_mark(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """``user_logged_in``: a sign-in writes the session and starts its idle time, so the first
    pages after it need not write it again."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_RENEWED_AT] = int(time.time())


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware with a sliding idle expiry that only people move on.

    Each request a person makes moves the expiry on (``SESSION_COOKIE_AGE`` from then), but the
    session is written at most once every ``OFFLABEL_SESSION_RENEW_SECONDS`` (default 60) for
    that alone: writing it on every request (``SESSION_SAVE_EVERY_REQUEST``) cost every page a
    transaction. An idle session therefore ends between ``SESSION_COOKIE_AGE`` minus that
    interval and ``SESSION_COOKIE_AGE`` after the last request: never later.

    A poll (a page left open on a ward computer polls every few seconds) never moves the expiry
    on: it would keep the session alive for ever. It still saves what it changed in the
    session's data, which must be kept."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None:
            return response
        if is_poll(request):
            if not session.modified:
                if session.accessed:
                    patch_vary_headers(response, ("Cookie",))
                return response
        elif session.session_key and not session.is_empty():
            now = int(time.time())
            renewed = session.get(SESSION_RENEWED_AT, 0)
            if now - renewed >= settings.OFFLABEL_SESSION_RENEW_SECONDS:
                session[SESSION_RENEWED_AT] = now  # modified: saved with a new expiry
        return super().process_response(request, response)


class NoStoreForSignedInMiddleware:
    """Every response to a signed-in user (pages, API, PDFs, exports) carries patient data or
    could: no browser or proxy cache may keep a copy (``Cache-Control: no-store``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # After the view: DRF puts a token-authenticated user on the request there.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
            response.headers.pop("Expires", None)
            response["Pragma"] = "no-cache"
        return response
