"""Every action the audit trail records, in one enum (Zulip's ``AuditLogEventType`` is the model).

``audit_record`` takes only a member of ``AuditAction``, so a report or the audit viewer's
filter can list what the trail may hold. The value is what is stored in ``AuditEvent.action``
(and covered by the event's hash): a value is never renamed once written; a new kind of event
is a new member. Families that are written from data (a request's transition, an application's
step) have one member each, checked against that data at import time
(``prescriptions.workflow`` and ``regulatory.services``).
"""

from __future__ import annotations

import functools

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # --- Sign-in, second factors, provider sign-in (accounts, audit.auth_events) -------------
    LOGGED_IN = "login.succeeded", _("Signed in")
    LOGGED_OUT = "logout", _("Signed out")
    LOGIN_FAILED = "login.failed", _("Sign-in failed")
    LOCKED_OUT = "login.locked_out", _("Sign-in locked")
    REAUTHENTICATED_WITH_PROVIDER = (
        "login.reauthenticated_with_provider",
        _("Re-authenticated with the provider"),
    )
    PASSWORD_CHANGED = "user.password_changed", _("Password changed")
    USER_CREATED = "user.created"
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 (an action name)
    USER_CREATED_AT_PROVIDER_SIGN_IN = (
        "user.created_at_provider_sign_in",
        _("User created at sign-in"),
    )
    USER_ROLES_SET_BY_PROVIDER = "user.roles_set_by_provider", _("Roles set by the provider")
    MFA_ENROLLED = "mfa.enrolled", _("Second factor added")
    MFA_REMOVED = "mfa.removed", _("Second factor removed")
    MFA_VERIFIED = "mfa.verified", _("Second factor given")
    MFA_FAILED = "mfa.failed", _("Second factor refused")
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used", _("Recovery code used")
    MFA_RECOVERY_CODES_GENERATED = (
        "mfa.recovery_codes_generated",
        _("Recovery codes generated"),
    )
    API_TOKEN_ISSUED = "api_token.issued"  # noqa: S105 (an action name)
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105 (an action name)
    HOSPITAL_CREATED = "hospital.created"

    # --- Electronic signatures (signatures) --------------------------------------------------
    SIGNATURE_REAUTH_FAILED = (
        "signature.reauth_failed",
        _("Re-authentication to sign failed"),
    )
    SIGNATURE_REAUTH_LOCKED = (
        "signature.reauth_locked",
        _("Signing locked after failed re-authentications"),
    )
    SIGNATURE_RECORDED = "signature.recorded", _("Electronic signature recorded")
    DOCUMENT_AWAITING_TIMESTAMP = "document.awaiting_timestamp"

    # --- Patients and requests (prescriptions) ---------------------------------------------
    PATIENT_CREATED = "patient.created"
    PATIENT_UPDATED = "patient.updated"
    PATIENT_TREATING_PHYSICIAN_ADDED = "patient.treating_physician_added"
    PATIENT_IDENTITY_LISTED = "patient.identity_listed"
    PATIENT_IDENTITY_RECORDED = "patient.identity_recorded"
    PATIENT_IDENTITY_CORRECTED = "patient.identity_corrected"
    PATIENT_IDENTITY_READ = "patient.identity_read"
    PATIENT_IDENTITY_READ_REFUSED = "patient.identity_read_refused"
    REQUEST_CREATED = "request.created"
    REQUEST_UPDATED = "request.updated"
    REQUEST_DISCARDED = "request.discarded"
    REQUEST_EVIDENCE_ATTACHED = "request.evidence_attached"
    REQUEST_EVIDENCE_DETACHED = "request.evidence_detached"
    # One per transition of prescriptions.workflow.TRANSITIONS: "request.<transition name>".
    REQUEST_SUBMIT = "request.submit"
    REQUEST_START_REVIEW = "request.start_review"
    REQUEST_REQUEST_CHANGES = "request.request_changes"
    REQUEST_RESUBMIT = "request.resubmit"
    REQUEST_SEND_FOR_AUTHORISATION = "request.send_for_authorisation"
    REQUEST_APPROVE = "request.approve"
    REQUEST_REJECT = "request.reject"
    REQUEST_START_DISPENSING = "request.start_dispensing"
    REQUEST_COMPLETE = "request.complete"
    REQUEST_WITHDRAW = "request.withdraw"
    REQUEST_SUSPEND = "request.suspend"
    REQUEST_RESUME = "request.resume"

    # --- Evidence ---------------------------------------------------------------------------
    STUDY_CREATED = "study.created"
    STUDY_UPDATED = "study.updated"
    STUDY_LOADED = "study.loaded"
    STUDY_RELOADED = "study.reloaded"

    # --- Pharmacy ---------------------------------------------------------------------------
    SAFETY_OVERRIDDEN = "safety.overridden"
    TLS_RECORDED = "tls.recorded"
    PLAN_VERSION_CREATED = "plan.version_created"
    DISPENSATION_CREATED = "dispensation.created"
    DRUG_PRICE_ADDED = "drug_price.added"
    LABEL_RULES_LOADED = "label_rules.loaded"
    LABEL_RULES_TRANSLATIONS_LOADED = "label_rules.translations_loaded"

    # --- Pathways, checklists, applications, dossiers (regulatory) ---------------------------
    REQUEST_PATHWAY_CHOSEN = "request.pathway_chosen"
    REQUEST_PATHWAY_APPLIES_AGAIN = "request.pathway_applies_again"
    REQUEST_PATHWAY_NO_LONGER_APPLIES = "request.pathway_no_longer_applies"
    CHECKLIST_ATTESTED = "checklist.attested"
    CHECKLIST_ATTESTATION_WITHDRAWN = "checklist.attestation_withdrawn"
    CHECKLIST_DOCUMENT_UPLOADED = "checklist.document_uploaded"
    PATHWAY_VERSION_LOADED = "pathway.version_loaded"
    PATHWAY_TRANSLATIONS_LOADED = "pathway.translations_loaded"
    PATHWAY_VERSION_CREATED = "pathway.version_created"
    PATHWAY_EDIT_REFUSED = "pathway.edit_refused"
    PATHWAY_NATIONAL_RULES_CHANGED = "pathway.national_rules_changed"
    PATHWAY_LOCAL_ITEM_ADDED = "pathway.local_item_added"
    PATHWAY_LOCAL_ITEM_DEACTIVATED = "pathway.local_item_deactivated"
    APPLICATION_CREATED = "application.created"
    APPLICATION_DOCUMENT_ADDED = "application.document_added"
    # One per step of regulatory.services.APPLICATION_STEPS: "application.<step name>".
    APPLICATION_SUBMIT = "application.submit"
    APPLICATION_ACKNOWLEDGE = "application.acknowledge"
    APPLICATION_REQUEST_INFORMATION = "application.request_information"
    APPLICATION_ANSWER = "application.answer"
    APPLICATION_GRANT = "application.grant"
    APPLICATION_DENY = "application.deny"
    APPLICATION_WITHDRAW = "application.withdraw"
    REMINDER_RAISED = "reminder.raised"
    REMINDER_RESOLVED = "reminder.resolved"
    DOSSIER_REQUESTED = "dossier.requested"
    DOSSIER_RENDERED = "dossier.rendered"
    DOSSIER_DOWNLOADED = "dossier.downloaded"

    # --- Consent ----------------------------------------------------------------------------
    CONSENT_REQUESTED = "consent.requested"
    CONSENT_RENDERED = "consent.rendered"
    CONSENT_DOWNLOADED = "consent.downloaded"
    CONSENT_SIGNED = "consent.signed"
    CONSENT_SUPERSEDED = "consent.superseded"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    CONSENT_SIGNATURE_RECORD_SEALED = "consent.signature_record_sealed"
    CONSENT_RECORD_DOWNLOADED = "consent.record_downloaded"

    # --- Follow-up ---------------------------------------------------------------------------
    ASSESSMENT_RECORDED = "assessment.recorded"
    ADVERSE_EVENT_RECORDED = "adverse_event.recorded"
    ADVERSE_EVENT_UPDATED = "adverse_event.updated"
    FOLLOWUP_UPDATED = "followup.updated"
    PV_REMINDER_RAISED = "pv_reminder.raised"
    PV_REMINDER_RESOLVED = "pv_reminder.resolved"
    REGISTRY_EXPORT_648 = "registry.export_648"
    RENEWAL_REPORT_REQUESTED = "renewal_report.requested"
    RENEWAL_REPORT_RENDERED = "renewal_report.rendered"
    RENEWAL_REPORT_DOWNLOADED = "renewal_report.downloaded"

    # --- Reports and the audit chain --------------------------------------------------------
    REPORT_REQUESTED = "report.requested"
    REPORT_RENDERED = "report.rendered"
    REPORT_DOWNLOADED = "report.downloaded"
    REPORT_EXPORTED_CSV = "report.exported_csv"
    REPORT_EXPORTED_XLSX = "report.exported_xlsx"
    AUDIT_CHECK_REQUESTED = "audit.check_requested"

    @classmethod
    def family(cls, prefix: str, name: str) -> AuditAction:
        """The member ``<prefix>.<name>`` of a family written from data; a ``ValueError`` for a
        name the enum does not list (a transition or step added without its audit action)."""
        return cls(f"{prefix}.{name}")


@functools.cache
def audit_action_families() -> dict[str, tuple[AuditAction, ...]]:
    """The actions grouped by what comes before the first dot, in the enum's order (the audit
    viewer's filter offers each group and each action). Built once: the enum is fixed."""
    families: dict[str, list[AuditAction]] = {}
    for action in AuditAction:
        families.setdefault(action.value.split(".", 1)[0], []).append(action)
    return {family: tuple(actions) for family, actions in families.items()}
