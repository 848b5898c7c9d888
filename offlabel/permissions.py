from typing import Any

from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.request import Request


class ModelViewPermission(DjangoModelPermissions):
    """Like DjangoModelPermissions, but reading needs the model's ``view`` permission too."""

    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class ActionPermission(BasePermission):
    """Per-action permission codenames declared on the view as ``action_permissions``.

    The services still check roles and ownership; this stops a caller at the door and keeps
    the API's permissions the same as the pages'."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        mapping: dict[str, str] = getattr(view, "action_permissions", {})
        key = f"{view.action}:{request.method}"
        needed = mapping.get(key) or mapping.get(view.action or "")
        if needed is None:
            return False  # an action nobody declared is closed
        return bool(request.user.has_perm(needed))


def needs(*perms: str) -> type[BasePermission]:
    """A permission class requiring every named Django permission, per HTTP method group."""

    class Needs(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(
                request.user and request.user.is_authenticated and request.user.has_perms(perms)
            )

    return Needs
