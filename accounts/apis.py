from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from offlabel.api_errors import responses


@extend_schema(
    responses=responses(
        inline_serializer(
            "Me",
            fields={
                "username": serializers.CharField(),
                "hospital": serializers.CharField(allow_null=True),
                "roles": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
)
@api_view(["GET"])
def me_api(request: Request) -> Response:
    """Who is signed in: username, hospital and roles."""
    user = request.user
    return Response(
        {
            "username": user.get_username(),
            "hospital": user.hospital.name if user.hospital else None,  # type: ignore[union-attr]
            "roles": sorted(g.name for g in user.groups.all()),
        }
    )
