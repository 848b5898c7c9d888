"""Roles are Django groups; their permissions are declared here and synced after migrate.

Later features add their permission codenames to ``ROLE_PERMISSIONS``; the sync makes the
groups match exactly, so a permission removed here is removed from the group too.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    PHYSICIAN = "physician", _("Physician (prescriber)")
    PHARMACIST = "pharmacist", _("Pharmacist")
    HOSPITAL_ADMIN = "hospital_admin", _("Hospital administrator (auditor)")
    REGULATORY_OFFICER = "regulatory_officer", _("Regulatory officer")
    COMMITTEE_SECRETARY = "committee_secretary", _("Drug committee secretary")
    RULE_STEWARD = "rule_steward", _("National rules steward")


# "app_label.codename" for each role.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.PHYSICIAN: {
        "evidence.view_study",
        "prescriptions.view_patient",
        "prescriptions.add_patient",
        "prescriptions.change_patient",
        "prescriptions.view_offlabelrequest",
        "prescriptions.add_offlabelrequest",
        "prescriptions.change_offlabelrequest",
        "regulatory.view_pathwayversion",
        "regulatory.change_checklistitem",
        "regulatory.view_application",
        "pharmacy.view_dispensation",
    },
    Role.PHARMACIST: {
        "evidence.view_study",
        "evidence.add_study",
        "evidence.change_study",
        "prescriptions.view_patient",
        "prescriptions.view_offlabelrequest",
        "prescriptions.change_offlabelrequest",
        "regulatory.view_pathwayversion",
        "regulatory.change_checklistitem",
        "regulatory.view_application",
        "regulatory.add_application",
        "regulatory.change_application",
        "pharmacy.view_dispensation",
        "pharmacy.add_dispensation",
        "pharmacy.add_safetyoverride",
        "prescriptions.view_drugprice",
        "prescriptions.add_drugprice",
    },
    Role.HOSPITAL_ADMIN: {
        "evidence.view_study",
        "audit.view_auditevent",
        "prescriptions.view_patient",
        "prescriptions.view_offlabelrequest",
        "regulatory.view_pathwayversion",
        "regulatory.view_application",
        "pharmacy.view_dispensation",
        "prescriptions.view_drugprice",
        "reports.view_reportexport",
        "reports.add_reportexport",
    },
    # A hospital's officer reads the national rules and adds its hospital's stricter local
    # checklist items; only a steward, above hospitals, changes the national rules (issue 14).
    Role.REGULATORY_OFFICER: {
        "evidence.view_study",
        "evidence.add_study",
        "evidence.change_study",
        "regulatory.view_pathwayversion",
        "regulatory.view_localchecklistitem",
        "regulatory.add_localchecklistitem",
        "regulatory.change_localchecklistitem",
    },
    Role.COMMITTEE_SECRETARY: {
        "prescriptions.view_offlabelrequest",
        "regulatory.view_pathwayversion",
        "regulatory.change_checklistitem",
        "regulatory.view_application",
        "regulatory.change_application",
    },
    Role.RULE_STEWARD: {
        "regulatory.view_pathwayversion",
        "regulatory.add_pathwayversion",
        "regulatory.change_pathwayversion",
    },
}


def is_rule_steward(user: Any) -> bool:
    """May this user change the national rules? The steward role, the flag and no hospital,
    all three: a role given by mistake to a hospital's user does not make a steward."""
    return (
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and bool(getattr(user, "is_rule_steward", False))
        and getattr(user, "hospital_id", None) is None
        and Role.RULE_STEWARD in roles_of(user)
    )


def roles_of(user: Any) -> set[str]:
    """The role (group) names of a user; none for an anonymous one."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(user.role_set)


def caches_clear(sender: Any, instance: Any, **kwargs: Any) -> None:
    """After a change to a user's groups or permissions (``m2m_changed``), drop what that user
    instance has cached: its roles and Django's permission caches."""
    for attribute in ("role_set", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        instance.__dict__.pop(attribute, None)


def roles_sync() -> dict[str, int]:
    """Create the role groups and set their permissions to exactly what is declared."""
    counts: dict[str, int] = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in sorted(perms):
            app_label, codename = dotted.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
        counts[str(role)] = len(wanted)
    return counts


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    # Run once, after the last app with models: only then do all permissions exist.
    from django.apps import apps

    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender is last:
        roles_sync()
