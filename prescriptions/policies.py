"""Who may see or change a request: the one place these rules are written (issue 18).

Every page, API and service asks here:

- ``requests_visible_to`` / ``patients_visible_to``: the rows a user may read. Another
  hospital's request is not there at all, so it answers 404 as one that does not exist.
- ``request_get_visible``: one visible request for a page or an API (``Http404`` otherwise);
  ``request_get_prescribed``: one the user also prescribed.
- ``request_lock_for_change``: a service's write begins here: the row locked, of the actor's
  hospital, not discarded, and at the version the user saw (``NotVisible`` / ``ConflictError``).
- ``require_same_hospital``: the same rule for a row that is not a request (a patient, a
  document, an application).
- ``require_role``: the actor holds one of the roles (``ApplicationError`` with the message).
- ``acts_as_prescriber`` and ``prescriber_rule_met``: a physician acts on a request only as its
  prescriber, unless they also hold another role that may act.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django_stubs_ext import StrOrPromise

from accounts.roles import Role, roles_of
from offlabel.exceptions import ApplicationError, ConflictError, NotVisible
from prescriptions.models import OffLabelRequest, Patient

# Roles that see every request of their hospital (a physician sees their own and their
# patients').
HOSPITAL_WIDE_ROLES = frozenset({Role.PHARMACIST, Role.HOSPITAL_ADMIN, Role.COMMITTEE_SECRETARY})


# --- Reading ---------------------------------------------------------------------------------


def requests_visible_to(user: Any) -> QuerySet[OffLabelRequest]:
    """Pharmacists, administrators and the committee secretary: every request of their hospital.
    Physicians: those they prescribed or whose patient they treat. Nobody: another hospital's."""
    roles = roles_of(user)
    hospital_id = getattr(user, "hospital_id", None)
    # A discarded draft is kept for the audit trail and shown nowhere.
    base = OffLabelRequest.objects.kept().select_related("patient", "prescriber", "drug")
    if hospital_id is None or not roles:
        return base.none()
    in_hospital = base.filter(hospital_id=hospital_id)
    if roles & HOSPITAL_WIDE_ROLES:
        return in_hospital
    if Role.PHYSICIAN in roles:
        return in_hospital.filter(
            Q(prescriber=user) | Q(patient__treating_physicians=user)
        ).distinct()
    return base.none()


def patients_visible_to(user: Any) -> QuerySet[Patient]:
    """Pharmacists and administrators: the hospital's patients. Physicians: those they treat."""
    roles = roles_of(user)
    hospital_id = getattr(user, "hospital_id", None)
    if hospital_id is None or not roles:
        return Patient.objects.none()
    in_hospital = Patient.objects.filter(hospital_id=hospital_id)
    if roles & {Role.PHARMACIST, Role.HOSPITAL_ADMIN}:
        return in_hospital
    if Role.PHYSICIAN in roles:
        return in_hospital.filter(treating_physicians=user).distinct()
    return Patient.objects.none()


def request_get_visible(user: Any, pk: int, *, related: Iterable[str] = ()) -> OffLabelRequest:
    """The request ``pk`` if the user may read it, else ``Http404`` (another hospital's request
    and one that does not exist answer alike, with Django's "No OffLabelRequest matches the
    given query."); ``related`` is added to ``select_related``."""
    visible = requests_visible_to(user)
    if related:  # select_related() with no names would follow every foreign key
        visible = visible.select_related(*related)
    return get_object_or_404(visible, pk=pk)


def request_get_prescribed(user: Any, pk: int) -> OffLabelRequest:
    """The request ``pk`` if the user may read it and acts as its prescriber (the steps of the
    request form, the pathway step), else ``Http404``, as for a request that does not exist."""
    offlabel = request_get_visible(user, pk)
    if not acts_as_prescriber(user, offlabel):
        raise Http404
    return offlabel


# --- Writing ---------------------------------------------------------------------------------


def same_hospital(user: Any, hospital_id: int | None) -> bool:
    """The user belongs to a hospital, and it is this one."""
    own = getattr(user, "hospital_id", None)
    return own is not None and own == hospital_id


def require_same_hospital(actor: Any, hospital_id: int | None) -> None:
    """Another hospital's row does not exist for the actor (``NotVisible``: a 404)."""
    if not same_hospital(actor, hospital_id):
        raise NotVisible(gettext("Not found."))


def request_lock_for_change(
    actor: Any,
    request: OffLabelRequest | int,
    *,
    expected_version: int | None = None,
    related: Iterable[str] = ("patient",),
) -> OffLabelRequest:
    """The request locked (``SELECT … FOR UPDATE``) for a write by ``actor``: of the actor's
    hospital and not discarded (else ``NotVisible``), and, when ``expected_version`` is given,
    still at that version (else ``ConflictError``, which says what it is now)."""
    pk = request if isinstance(request, int) else request.pk
    locked = OffLabelRequest.objects.select_for_update().select_related(*related).get(pk=pk)
    require_same_hospital(actor, locked.hospital_id)
    if locked.discarded_at is not None:
        raise NotVisible(gettext("Not found."))
    if expected_version is not None and locked.version != expected_version:
        raise ConflictError(
            gettext(
                "%(reference)s was changed by someone else while you were working on it "
                "(it is now '%(status)s'). Reload the page to see the current version."
            )
            % {"reference": locked.reference, "status": locked.get_status_display()},
            extra={"status": locked.status, "version": locked.version},
        )
    return locked


def require_role(actor: Any, *roles: str, message: StrOrPromise | None = None) -> None:
    """The actor holds one of ``roles``; else an ``ApplicationError`` with ``message`` (by
    default "Only a <role> or <role> can do this.")."""
    if roles_of(actor) & set(roles):
        return
    if message is None:
        or_word = gettext("or")
        names = f" {or_word} ".join(Role(r).label.lower() for r in roles)
        message = gettext("Only a %(roles)s can do this.") % {"roles": names}
    raise ApplicationError(str(message))


# --- A physician acts as the prescriber --------------------------------------------------------


def acts_as_prescriber(user: Any, request: OffLabelRequest) -> bool:
    """The user is a physician and prescribed this request."""
    return Role.PHYSICIAN in roles_of(user) and request.prescriber_id == getattr(user, "pk", None)


def prescriber_rule_met(user: Any, request: OffLabelRequest, roles: Iterable[str]) -> bool:
    """Of the ``roles`` that may take an action, a user who holds only the physician's takes it
    only on a request they prescribed; a user who also holds another of them is not bound."""
    held = roles_of(user)
    physician_only = Role.PHYSICIAN in held and not (held & (set(roles) - {Role.PHYSICIAN}))
    return not physician_only or request.prescriber_id == getattr(user, "pk", None)
