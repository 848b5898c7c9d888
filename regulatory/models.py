"""Regulatory rules as versioned, sourced data; request checklists; outside authorisations.

A ``Pathway`` is a stable identity (e.g. Italy, Law 94/98); its rules live in
``PathwayVersion`` rows. Editing a rule creates a new version; a request's checklist points at
the version it was built from and copies the item texts, so history never changes.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from offlabel.i18n import localized
from offlabel.rendering import RenderedDocument
from regulatory.rules import checklist_validate, criteria_validate


class Body(models.TextChoices):
    AIFA_REGISTRY = "aifa_registry", _("AIFA monitoring registry")
    AIFA = "aifa", _("AIFA")
    ETHICS_COMMITTEE = "ethics_committee", _("Ethics committee")
    HOSPITAL_DRUG_COMMITTEE = "hospital_drug_committee", _("Hospital drug committee")
    INSURER = "insurer", _("Health insurer")
    PT_COMMITTEE = "pt_committee", _("Pharmacy and therapeutics committee")
    NONE = "none", _("No outside body")


class Jurisdiction(models.Model):
    code = models.CharField(max_length=2, unique=True)
    name = models.CharField(max_length=80)
    translations = models.JSONField(default=dict, blank=True)  # {"it": {"name": "Italia"}}

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Pathway(models.Model):
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="pathways"
    )
    code = models.SlugField(max_length=60, unique=True)
    order = models.PositiveSmallIntegerField(
        help_text=_("Routing order: the first pathway that applies wins.")
    )

    class Meta:
        ordering = ["jurisdiction__code", "order"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "order"], name="pathway_order_unique")
        ]

    def __str__(self) -> str:
        current = self.current_version()
        return current.name if current else self.code

    def current_version(self) -> PathwayVersion | None:
        return self.versions.filter(is_current=True).first()


class PathwayVersion(models.Model):
    pathway = models.ForeignKey(Pathway, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    is_current = models.BooleanField(default=True)
    name = models.CharField(_("name"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    legal_source = models.TextField(
        _("legal source"),
    )
    verified_on = models.DateField(
        _("verified on"),
    )
    confirmed = models.BooleanField(
        _("confirmed"),
        default=False,
        help_text=_("A person confirmed it against the current official text."),
    )
    unconfirmed_note = models.TextField(_("note on what is unconfirmed"), blank=True)
    reimbursement = models.CharField(_("reimbursement"), max_length=300, blank=True)
    authorising_body = models.CharField(
        _("authorising body"), max_length=30, choices=Body.choices, default=Body.NONE
    )
    needs_outside_authorisation = models.BooleanField(
        _("needs an outside authorisation"), default=False
    )
    criteria = models.JSONField(
        default=list,
        help_text=_("List of {code, text, rule, confirmed, source}."),
        validators=[criteria_validate],
    )
    checklist = models.JSONField(
        default=list,
        help_text=_("List of checklist item templates."),
        validators=[checklist_validate],
    )
    # The version's own texts in other languages, from the data file ({"it": {"name": …,
    # "summary": …}}); criteria and checklist items carry theirs inside ("i18n"). Shown by
    # ``offlabel.i18n.localized``; a field whose English a steward edits loses its translation.
    translations = models.JSONField(default=dict, blank=True)
    change_note = models.TextField(blank=True)
    data_hash = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("Set when loaded from the data file."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pathway", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["pathway", "version"], name="pathway_version_unique"),
            models.UniqueConstraint(
                fields=["pathway"], condition=Q(is_current=True), name="pathway_one_current_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"  # the English record (audit summaries)

    @property
    def label(self) -> str:
        """Name and version in the reader's language, for pages."""
        return f"{localized(self, 'name')} (v{self.version})"


class DeadlineRule(models.Model):
    class Kind(models.TextChoices):
        OVERDUE_STEP = "overdue_step", _("Step overdue")
        ANSWER_AWAITED = "answer_awaited", _("Answer awaited too long")
        EXPIRING = "expiring", _("Authorisation expiring")
        RENEWAL_DUE = "renewal_due", _("Renewal report due")

    code = models.SlugField(max_length=60, unique=True)
    body = models.CharField(max_length=30, choices=Body.choices)
    application_type = models.CharField(max_length=10, default="initial")
    anchor = models.CharField(
        max_length=30, help_text=_("Date field of the application the offset counts from.")
    )
    offset_days = models.IntegerField()
    day_of_next_month = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text=_(
            "A calendar cut-off: the deadline is this day of the month after the anchor date, "
            "then the offset (e.g. 10 and -1: the day before the 10th of the next month)."
        ),
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.CharField(max_length=300)
    source = models.CharField(max_length=300, blank=True)
    confirmed = models.BooleanField(default=False)
    dataset_version = models.PositiveIntegerField(default=1)
    translations = models.JSONField(default=dict, blank=True)  # {"it": {"text": …, "source": …}}

    class Meta:
        ordering = ["body", "code"]

    def __str__(self) -> str:
        return self.text

    def due_on(self, anchor: date) -> date:
        """The date this deadline falls on for an application whose anchor date is ``anchor``."""
        if self.day_of_next_month is not None:
            year, month = (
                (anchor.year + 1, 1) if anchor.month == 12 else (anchor.year, anchor.month + 1)
            )
            anchor = date(year, month, self.day_of_next_month)
        return anchor + timedelta(days=self.offset_days)


class PathwayChoice(models.Model):
    """The pathway a request follows, the version it was checked against, and the routing then."""

    request = models.OneToOneField(
        "prescriptions.OffLabelRequest", on_delete=models.CASCADE, related_name="pathway_choice"
    )
    pathway_version = models.ForeignKey(
        PathwayVersion, on_delete=models.PROTECT, related_name="choices"
    )
    recommended_code = models.CharField(max_length=60, blank=True)
    followed_recommendation = models.BooleanField(default=True)
    reason = models.TextField(
        blank=True, help_text=_("Why another pathway than the recommended one.")
    )
    routing_snapshot = models.JSONField(default=dict)
    # Re-evaluated whenever the request's inputs change (regulatory.attestations): False while
    # the chosen pathway cannot apply to the request as it is now.
    applies_now = models.BooleanField(default=True, editable=False)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    chosen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.pathway_version)


# Who may attest a checklist item, as the rules data names them, in the interface language.
ATTESTER_LABELS = {
    "physician": _("physician"),
    "pharmacist": _("pharmacist"),
    "committee_secretary": _("committee secretary"),
}


class ChecklistItem(models.Model):
    class Kind(models.TextChoices):
        AUTOMATIC = "automatic", _("Checked from the record")
        ATTESTATION = "attestation", _("Attestation")
        DOCUMENT = "document", _("Document")

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.CASCADE, related_name="checklist"
    )
    pathway_version = models.ForeignKey(PathwayVersion, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField()
    code = models.SlugField(max_length=60)
    text = models.CharField(max_length=400)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    required = models.BooleanField(default=True)
    rule = models.JSONField(null=True, blank=True)
    attesters = models.JSONField(default=list, blank=True)
    document_type = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=300, blank=True)
    # The item's text and source in other languages, copied with them from the version.
    translations = models.JSONField(default=dict, blank=True)
    # Set when the item is the hospital's own addition, not the national rules' (issue 14).
    local_item = models.ForeignKey(
        "LocalChecklistItem", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Attestation
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attested_at = models.DateTimeField(null=True, blank=True)
    attested_plan_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The treatment plan version the attestation was made on."
    )
    # What the attestation attested (issue 15): the request's inputs when it was made, and their
    # hash (regulatory.attestations). A change to them withdraws it before approval.
    attested_inputs = models.JSONField(null=True, blank=True, editable=False)
    attested_inputs_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    withdrawn_changes = models.JSONField(default=list, blank=True, editable=False)
    note = models.TextField(blank=True)
    # Document
    document = models.FileField(upload_to="checklist/%Y/%m/", blank=True)
    document_name = models.CharField(max_length=200, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "order"]
        constraints = [
            models.UniqueConstraint(fields=["request", "code"], name="checklist_item_unique")
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def attester_labels(self) -> list[str]:
        return [str(ATTESTER_LABELS.get(a, a)) for a in self.attesters]


class LocalChecklistItem(models.Model):
    """A hospital's own, stricter requirement for a pathway (issue 14).

    The national rules belong to no hospital and only a steward edits them; a hospital's
    regulatory officer can only add to them. A local item is appended to the checklists of that
    hospital's requests when the pathway is chosen, after the national items, always required:
    it can add a requirement, never remove or relax one. Other hospitals never see it.
    Deactivating it affects later checklists only (built checklists are snapshots)."""

    class Kind(models.TextChoices):
        ATTESTATION = "attestation", _("Attestation")
        DOCUMENT = "document", _("Document")

    hospital = models.ForeignKey("accounts.Hospital", on_delete=models.PROTECT, related_name="+")
    pathway = models.ForeignKey(Pathway, on_delete=models.PROTECT, related_name="local_items")
    text = models.CharField(_("text"), max_length=400)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    attesters = models.JSONField(default=list, blank=True)
    reason = models.CharField(
        _("reason"),
        max_length=300,
        help_text=_("Why the hospital requires it: the local policy or decision, with its date."),
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hospital", "pathway", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["attestation", "document"]),
                name="local_checklist_item_kind_adds_a_requirement",
            ),
            models.CheckConstraint(
                condition=Q(active=True) | Q(deactivated_at__isnull=False),
                name="local_checklist_item_deactivation_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def code(self) -> str:
        """Its code on a request's checklist; national codes cannot take this prefix."""
        return f"local-{self.pk}"

    @property
    def attester_labels(self) -> list[str]:
        return [str(ATTESTER_LABELS.get(a, a)) for a in self.attesters]


class Application(models.Model):
    """An application to an outside body (AIFA, ethics committee, drug committee, insurer)."""

    class Status(models.TextChoices):
        PREPARING = "preparing", _("Preparing")
        SUBMITTED = "submitted", _("Submitted")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        INFORMATION_REQUESTED = "information_requested", _("Information requested")
        ANSWERED = "answered", _("Information sent")
        GRANTED = "granted", _("Granted")
        DENIED = "denied", _("Denied")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # Decided, or withdrawn: no step follows.
    CLOSED_STATES = (Status.GRANTED, Status.DENIED, Status.WITHDRAWN)
    # Refused or withdrawn: no deadline is left.
    ENDED_STATES = (Status.DENIED, Status.WITHDRAWN)
    # With the outside body, waiting for its answer.
    AWAITING_BODY_STATES = (Status.SUBMITTED, Status.ACKNOWLEDGED, Status.ANSWERED)

    class Type(models.TextChoices):
        INITIAL = "initial", _("Initial")
        RENEWAL = "renewal", _("Renewal")

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.PROTECT, related_name="applications"
    )
    hospital = models.ForeignKey("accounts.Hospital", on_delete=models.PROTECT, related_name="+")
    body = models.CharField(max_length=30, choices=Body.choices)
    application_type = models.CharField(max_length=10, choices=Type.choices, default=Type.INITIAL)
    renewal_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewals"
    )
    protocol_number = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PREPARING)
    prepared_at = models.DateField()
    submitted_at = models.DateField(null=True, blank=True)
    acknowledged_at = models.DateField(null=True, blank=True)
    information_requested_at = models.DateField(null=True, blank=True)
    answered_at = models.DateField(null=True, blank=True)
    decided_at = models.DateField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-prepared_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="application_validity_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(application_type="initial") | Q(renewal_of__isnull=False),
                name="application_renewal_links_original",
            ),
        ]

    def __str__(self) -> str:
        kind = self.get_application_type_display().lower()
        return f"{self.get_body_display()} {kind} {self.protocol_number}".strip()

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATES

    @property
    def is_valid_now(self) -> bool:
        from django.utils import timezone

        today = timezone.localdate()
        return (
            self.status == self.Status.GRANTED
            and (self.valid_from is None or self.valid_from <= today)
            and (self.valid_until is None or today <= self.valid_until)
        )


class ApplicationDocument(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=40)
    file = models.FileField(upload_to="applications/%Y/%m/")
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Reminder(models.Model):
    """Raised by the daily job; unique per application, rule and due date, so reruns add nothing."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="reminders")
    rule = models.ForeignKey(DeadlineRule, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    raised_at = models.DateTimeField(auto_now_add=True)
    message = models.CharField(max_length=400)
    emailed_to = models.JSONField(default=list)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "rule", "due_on"], name="reminder_unique"
            )
        ]

    def __str__(self) -> str:
        return self.message


class Dossier(RenderedDocument):
    """A submission dossier PDF, rendered by a Celery worker (status, file, hash, attempts:
    ``offlabel.rendering.RenderedDocument``)."""

    RENDER_TASK = "regulatory.tasks.dossier_render_task"

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.CASCADE, related_name="dossiers"
    )
    pathway_version = models.ForeignKey(PathwayVersion, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="dossiers/%Y/%m/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Dossier {self.pk} for request {self.request_id}"
