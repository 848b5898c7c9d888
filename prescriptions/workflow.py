"""The request state machine as data, and pluggable requirements (guards).

A transition names the states it leaves from, the state it goes to, who may take it, and
whether a reason is required. Requirements are registered per transition so that later
features add theirs (regulatory checklist complete, consent signed, authorisation granted)
without touching the transition service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.roles import Role, roles_of
from audit.actions import AuditAction
from prescriptions.models import OffLabelRequest
from prescriptions.policies import prescriber_rule_met

S = OffLabelRequest.Status


@dataclass(frozen=True)
class Transition:
    name: str
    label: StrOrPromise  # in the interface language; audit rows use english()
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    reason_required: bool = False
    prescriber_only: bool = False  # a physician may act only on requests they prescribed
    destructive: bool = False  # the page asks for confirmation
    manual: bool = True  # False: taken only by the service that does the work (dispensing)

    @property
    def audit_action(self) -> AuditAction:
        """The audit trail's action for this transition: ``request.<name>``."""
        return AuditAction.family("request", self.name)


def _t(
    name: str,
    label: StrOrPromise,
    sources: Iterable[str],
    target: str,
    roles: Iterable[str],
    **kw: bool,
) -> Transition:
    return Transition(name, label, frozenset(sources), target, frozenset(roles), **kw)


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t(
            "submit",
            _("Submit to the pharmacy"),
            [S.DRAFT],
            S.SUBMITTED,
            [Role.PHYSICIAN],
            prescriber_only=True,
        ),
        _t(
            "start_review",
            _("Start review"),
            [S.SUBMITTED, S.RESUBMITTED],
            S.IN_REVIEW,
            [Role.PHARMACIST],
        ),
        _t(
            "request_changes",
            _("Request changes"),
            [S.IN_REVIEW],
            S.CHANGES_REQUESTED,
            [Role.PHARMACIST],
            reason_required=True,
        ),
        _t(
            "resubmit",
            _("Resubmit with changes"),
            [S.CHANGES_REQUESTED],
            S.RESUBMITTED,
            [Role.PHYSICIAN],
            prescriber_only=True,
        ),
        _t(
            "send_for_authorisation",
            _("Send for outside authorisation"),
            [S.IN_REVIEW],
            S.AWAITING_AUTHORISATION,
            [Role.PHARMACIST],
        ),
        # No reason asked (issue 15): the approval's grounds are its requirements (checklist,
        # consent, safety findings, authorisation), each checked and recorded on its own.
        _t(
            "approve",
            _("Approve"),
            [S.IN_REVIEW, S.AWAITING_AUTHORISATION],
            S.APPROVED,
            [Role.PHARMACIST],
        ),
        _t(
            "reject",
            _("Reject"),
            [S.IN_REVIEW, S.AWAITING_AUTHORISATION],
            S.REJECTED,
            [Role.PHARMACIST],
            reason_required=True,
            destructive=True,
        ),
        _t(
            "start_dispensing",
            _("Start dispensing"),
            [S.APPROVED],
            S.ACTIVE,
            [Role.PHARMACIST],
            manual=False,  # the first dispensation (pharmacy.services) takes it
        ),
        _t(
            "complete",
            _("Mark treatment completed"),
            [S.ACTIVE],
            S.COMPLETED,
            [Role.PHYSICIAN, Role.PHARMACIST],
            prescriber_only=True,
        ),
        _t(
            "withdraw",
            _("Withdraw the request"),
            [S.DRAFT, *OffLabelRequest.AWAITING_DECISION_STATES, S.APPROVED],
            S.WITHDRAWN,
            [Role.PHYSICIAN],
            reason_required=True,
            prescriber_only=True,
            destructive=True,
        ),
        _t(
            "suspend",
            _("Suspend treatment"),
            [S.APPROVED, S.ACTIVE],
            S.SUSPENDED,
            [Role.PHYSICIAN, Role.PHARMACIST],
            reason_required=True,
            prescriber_only=True,
            destructive=True,
        ),
        _t(
            "resume",
            _("Resume treatment"),
            [S.SUSPENDED],
            S.ACTIVE,
            [Role.PHARMACIST],
            reason_required=True,
        ),
    ]
}

# Each transition's audit action, computed at import: a transition added without its
# ``AuditAction`` member fails here (``ValueError``), not at the first time someone takes it.
TRANSITION_AUDIT_ACTIONS: dict[str, AuditAction] = {
    name: transition.audit_action for name, transition in TRANSITIONS.items()
}

# Check functions return None when met, or a sentence saying what is missing.
RequirementCheck = Callable[[OffLabelRequest], str | None]


@dataclass(frozen=True)
class Requirement:
    code: str
    description: str
    check: RequirementCheck


_REQUIREMENTS: dict[str, list[Requirement]] = {}


def requirement_register(
    *transitions: str, code: str, description: str
) -> Callable[[RequirementCheck], RequirementCheck]:
    """Decorator: make ``check`` a guard of the named transitions (later issues add theirs)."""

    def decorate(check: RequirementCheck) -> RequirementCheck:
        for name in transitions:
            if name not in TRANSITIONS:
                raise KeyError(f"unknown transition {name!r}")
            entries = _REQUIREMENTS.setdefault(name, [])
            entries[:] = [r for r in entries if r.code != code]  # re-registering replaces
            entries.append(Requirement(code, description, check))
        return check

    return decorate


def requirements_for(transition: str) -> list[Requirement]:
    return list(_REQUIREMENTS.get(transition, []))


def requirement_met(code: str, request: OffLabelRequest) -> bool:
    """Whether the requirement another app registered under ``code`` is met for this request:
    how a feature asks about another's state without importing it (the regulatory checklist
    asks "consent_signed", which the consent app registers). ``KeyError`` when no app
    registered that code: a missing answer is never taken as met."""
    for entries in _REQUIREMENTS.values():
        for requirement in entries:
            if requirement.code == code:
                return requirement.check(request) is None
    raise KeyError(f"no requirement registered as {code!r}")


def requirements_unmet(request: OffLabelRequest, transition: str) -> list[str]:
    return [message for r in requirements_for(transition) if (message := r.check(request))]


def transitions_available(request: OffLabelRequest, user: object) -> list[Transition]:
    """The transitions this user could try now (requirements are checked when taken)."""
    roles = roles_of(user)
    available = []
    for t in TRANSITIONS.values():
        if not t.manual or request.status not in t.sources or not roles & t.roles:
            continue
        if t.prescriber_only and not prescriber_rule_met(user, request, t.roles):
            continue
        available.append(t)
    return available
