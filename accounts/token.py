"""API tokens (django-rest-knox): issued behind the sign-in lockout, stored hashed, valid
``API_TOKEN_TTL_HOURS`` from issue, revoked at sign-out and when the password changes.

The token endpoint authenticates with the underlying HttpRequest, not DRF's wrapper, so
django-axes counts its failures and a locked-out username gets no token.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.mfa import (
    code_check,
    code_refusal_message,
    mfa_required,
    second_factor_record,
    totp_devices,
)
from accounts.models import User
from accounts.scoping import acting_user
from accounts.services import api_token_issue, api_tokens_revoke
from offlabel.api_errors import responses
from offlabel.parsers import FlatMultiPartParser, LimitedJSONParser


class CredentialsSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(write_only=True)
    password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, trim_whitespace=False
    )
    otp = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="A current code of your authenticator app, or one of your recovery codes: "
        "required when your role must use a second factor.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        user = authenticate(
            request=getattr(request, "_request", request),
            username=attrs.get("username"),
            password=attrs.get("password"),
        )
        if user is None:
            raise serializers.ValidationError(
                gettext(
                    "Unable to log in with these credentials (or the account is locked after "
                    "repeated failures)."
                ),
                code="authorization",
            )
        attrs["user"] = user
        return attrs


@extend_schema(
    request=CredentialsSerializer,
    responses=responses(
        inline_serializer(
            "AuthToken",
            {
                "token": serializers.CharField(),
                "expiry": serializers.DateTimeField(
                    help_text="The token stops working at this time; ask for a new one."
                ),
            },
        ),
        400,
        415,
    ),
)
class ObtainTokenView(APIView):
    """A new API token. Send it as ``Authorization: Token <token>``; it expires at ``expiry``
    (use does not extend it) and is revoked when you sign out or change your password."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    # As DRF's own token view: a form post works too (curl -d username=... -d password=...).
    parser_classes = [FormParser, FlatMultiPartParser, LimitedJSONParser]
    multipart_fields = {"username", "password", "otp"}

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CredentialsSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # Answer without raising: a raised error rolls the request's transaction back, and
            # with it django-axes' record of the failure (so the lockout would never come).
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        user = serializer.validated_data["user"]
        refusal = _second_factor_refusal(user, serializer.validated_data.get("otp") or "")
        if refusal is not None:
            return refusal
        instance, token = api_token_issue(user=user)
        return Response({"token": token, "expiry": instance.expiry})


def _second_factor_refusal(user: User, otp: str) -> Response | None:
    """A user who must use a second factor gets a token only with a valid code (the token
    stands in for a session that gave one). A wrong code is audited and counts towards the
    device's back-off; the refusal is a response, not an exception, so both are kept."""
    # Those who must, and those who added an authenticator app of their own accord (as at the
    # sign-in page: a password alone no longer opens the account).
    if not (mfa_required(user) or totp_devices(user).exists()):
        return None
    if not otp.strip():
        return Response(
            {
                "otp": [
                    gettext(
                        "Your account requires a second factor: send otp with the current code "
                        "of your authenticator app or one of your recovery codes."
                    )
                ]
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    check = code_check(user=user, code=otp)
    if check.ok:
        second_factor_record(
            user=user, ok=True, method=f"api token, {check.kind}", device=check.device
        )
        return None
    second_factor_record(
        user=user,
        ok=False,
        method="api token",
        why="throttled" if check.locked_until else "wrong code",
    )
    return Response({"otp": [code_refusal_message(check)]}, status=status.HTTP_400_BAD_REQUEST)


@extend_schema(request=None, responses=responses(None, status=204))
class RevokeTokensView(APIView):
    """Sign out of the API: every token of the signed-in user is revoked."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        api_tokens_revoke(user=acting_user(request), reason="signed out of the API")
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokensRevokedOnPasswordChange:
    """A password "validator" that validates nothing: Django calls ``password_changed`` on
    every configured validator whenever a password is set and saved (the change form, the
    admin, ``changepassword``), which is the one hook every path goes through. A token
    obtained with the old password must not outlive it."""

    def validate(self, password: str, user: User | None = None) -> None:
        return None

    def password_changed(self, password: str, user: User | None = None) -> None:
        if isinstance(user, User) and user.pk is not None:
            api_tokens_revoke(user=user, reason="password changed")

    def get_help_text(self) -> str:
        return str(HELP_TEXT)


HELP_TEXT = gettext_lazy("Changing your password also revokes your API tokens.")

obtain_token = ObtainTokenView.as_view()
revoke_tokens = RevokeTokensView.as_view()
