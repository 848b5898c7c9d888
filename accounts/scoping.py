"""Hospital scoping: the one place that decides which hospital's rows a user may see."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.utils.translation import gettext

from accounts.models import User

M = TypeVar("M", bound=Model)


def scope_to_hospital(queryset: QuerySet[M], user: Any, field: str = "hospital") -> QuerySet[M]:
    """Rows of the user's own hospital only. A user without a hospital sees nothing here,
    superusers included: they administer the system, not a hospital's clinical records."""
    hospital_id = getattr(user, "hospital_id", None)
    if not getattr(user, "is_authenticated", False) or hospital_id is None:
        return queryset.none()
    return queryset.filter(**{f"{field}_id": hospital_id})


def acting_user(request: Any) -> User:
    """The signed-in user of a page or API request, typed for the services (views that call
    this are behind login_required / an authenticated-only permission)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied(gettext("Sign in first."))
    return user
