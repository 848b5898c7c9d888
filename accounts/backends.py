"""The authentication backend: Django's ``ModelBackend`` with fewer reads per request.

Every signed-in page and API call loads its user, its roles (the groups: menus, scoping) and,
at the first permission check, its permissions. Django's backend reads the user, then the
user's own permissions, then the groups' permissions, and the roles cost a fourth query. Here
the user comes with its hospital, and the roles with their permissions, in two queries; the
user's own permissions are read only when the roles do not grant what is asked.

What is allowed is unchanged: the same tables and rules (inactive users have no permission,
superusers have all) and Django's per-instance caches (``_group_perm_cache``, ``_perm_cache``),
which ``accounts.roles.caches_clear`` empties when the instance's groups change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from audit.actions import AuditAction
from audit.services import audit_record


def groups_load(user: Any) -> frozenset[str]:
    """The user's role names, read with their permissions in one query; both are cached on the
    instance (``role_set`` and Django's ``_group_perm_cache``)."""
    rows = (
        Group.objects.filter(user=user)
        .values_list("name", "permissions__content_type__app_label", "permissions__codename")
        .order_by()
    )
    roles = frozenset(name for name, _app, _codename in rows)
    user.__dict__["role_set"] = roles
    if not user.is_superuser:  # a superuser's are all permissions, which Django reads itself
        user._group_perm_cache = {
            f"{app}.{codename}" for _name, app, codename in rows if codename is not None
        }
    return roles


class LocalPasswordSwitchedOff(ValidationError):
    """The password was right, but the user's hospital signs its staff in through its provider
    only. A ``ValidationError``, not ``PermissionDenied``: the sign-in form and the token
    endpoint's serializer show its message as a form error (a 200 or a 400 answered, not
    raised, so the audit row stays), where ``PermissionDenied`` would become "wrong password"."""


class OfflabelBackend(ModelBackend):
    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        hospital = getattr(user, "hospital", None)
        if user is None or hospital is None or hospital.local_password_login:
            return user
        # Said only after the right password, so the message tells nobody else which
        # usernames exist or how their hospital signs in.
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        audit_record(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            object_type=user._meta.label_lower,
            object_id=str(user.pk),
            hospital=hospital,
            summary=f"Password sign-in refused for {user.get_username()!r}"
            + (f" from {address}" if address else "")
            + f": {hospital.code} allows only its provider's sign-in",
        )
        raise LocalPasswordSwitchedOff(
            gettext(
                "%(hospital)s does not use passwords kept by offlabel: sign in with "
                "“Sign in with %(provider)s”."
            )
            % {
                "hospital": hospital.name,
                "provider": getattr(settings, "OFFLABEL_OIDC_PROVIDER_NAME", ""),
            },
            code="local_password_off",
        )

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("hospital").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if (
            user_obj.is_active
            and not user_obj.is_anonymous
            and not user_obj.is_superuser
            and obj is None
            and not hasattr(user_obj, "_group_perm_cache")
        ):
            groups_load(user_obj)
        return super().get_group_permissions(user_obj, obj)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if user_obj.is_active and obj is None and perm in self.get_group_permissions(user_obj):
            return True  # the usual case: a role grants it; the user's own are not read
        return super().has_perm(user_obj, perm, obj)
