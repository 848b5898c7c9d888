"""The API token endpoint, behind the same login lockout as the sign-in page.

DRF's own view authenticates with its Request wrapper, which django-axes does not count;
this one authenticates with the underlying HttpRequest, so failures count and a locked-out
username gets no token.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from offlabel.api_errors import responses


class LockoutAwareAuthTokenSerializer(AuthTokenSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        user = authenticate(
            request=getattr(request, "_request", request),
            username=attrs.get("username"),
            password=attrs.get("password"),
        )
        if user is None:
            raise serializers.ValidationError(
                "Unable to log in with these credentials (or the account is locked after "
                "repeated failures).",
                code="authorization",
            )
        attrs["user"] = user
        return attrs


@extend_schema(
    request=LockoutAwareAuthTokenSerializer,
    responses=responses(
        inline_serializer("AuthToken", {"token": serializers.CharField()}), 400, 415
    ),
)
class ObtainTokenView(ObtainAuthToken):
    serializer_class = LockoutAwareAuthTokenSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            # Answer without raising: a raised error rolls the request's transaction back, and
            # with it django-axes' record of the failure (so the lockout would never come).
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


obtain_token = ObtainTokenView.as_view()
