from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# The header's short role badges, in the interface language.
ROLE_BADGES = {
    "physician": _("physician"),
    "pharmacist": _("pharmacist"),
    "hospital_admin": _("hospital admin"),
    "regulatory_officer": _("regulatory officer"),
    "committee_secretary": _("committee secretary"),
    "rule_steward": _("national rules steward"),
}


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": [], "user_role_labels": []}
    names = user.role_names
    return {
        "user_roles": names,
        "user_role_labels": [ROLE_BADGES.get(name, name) for name in names],
    }
