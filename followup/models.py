"""Follow-up registry: what happened after VEN was started.

Per treated request: response assessments (ELN 2022 categories), adverse events (CTCAE v5
terms and grades), one follow-up record (transplant, end of treatment, death, last contact),
pharmacovigilance reporting reminders for serious events, and the renewal clinical report PDF
for the AIFA 5% Fund. Patients appear by pseudonym only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from offlabel.i18n import localized
from offlabel.rendering import RenderedDocument


class Response(models.TextChoices):
    CR = "cr", _("Complete remission (CR)")
    CRI = "cri", _("CR with incomplete haematological recovery (CRi)")
    CRH = "crh", _("CR with partial haematological recovery (CRh)")
    MLFS = "mlfs", _("Morphologic leukaemia-free state (MLFS)")
    PR = "pr", _("Partial remission (PR)")
    NO_RESPONSE = "no_response", _("Stable disease / no response")
    PROGRESSION = "progression", _("Progressive disease")
    RELAPSE = "relapse", _("Relapse")


# Best response first: the order a best response is picked in. A relapse after a CR leaves the
# best response CR; relapse and progression rank last because neither is a response.
RESPONSE_RANK: dict[str, int] = {
    Response.CR: 1,
    Response.CRH: 2,
    Response.CRI: 3,
    Response.MLFS: 4,
    Response.PR: 5,
    Response.NO_RESPONSE: 6,
    Response.PROGRESSION: 7,
    Response.RELAPSE: 8,
}
# The registry's definitions, stated on the page: ORR counts any of these as best response ...
OBJECTIVE_RESPONSES = (Response.CR, Response.CRI, Response.CRH, Response.MLFS, Response.PR)
# ... and the composite complete remission rate ("CR/CRi") counts CR, CRi and CRh.
COMPLETE_RESPONSES = (Response.CR, Response.CRI, Response.CRH)


class Mrd(models.TextChoices):
    NEGATIVE = "negative", _("MRD negative")
    POSITIVE = "positive", _("MRD positive")
    NOT_ASSESSED = "not_assessed", _("Not assessed")


class ResponseAssessment(models.Model):
    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.PROTECT, related_name="assessments"
    )
    assessed_on = models.DateField(_("date of assessment"))
    response = models.CharField(max_length=12, choices=Response.choices)
    mrd = models.CharField(
        _("MRD status"), max_length=12, choices=Mrd.choices, default=Mrd.NOT_ASSESSED
    )
    method = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("e.g. bone marrow aspirate, ELN 2022; MRD by flow cytometry (sensitivity)."),
    )
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "assessed_on", "pk"]

    def __str__(self) -> str:
        return f"{self.get_response_display()} on {self.assessed_on}"


class CtcaeTerm(models.TextChoices):
    """CTCAE v5.0 terms that matter for VEN in AML (label, trials and the review), plus other.

    Each is a CTCAE v5.0 term, spelled as in the table; the grades each defines are data
    (``followup/data/ctcae_v5_grades.json``, read by ``followup.ctcae``)."""

    NEUTROPHIL_COUNT_DECREASED = "neutrophil_count_decreased", _("Neutrophil count decreased")
    FEBRILE_NEUTROPENIA = "febrile_neutropenia", _("Febrile neutropenia")
    PLATELET_COUNT_DECREASED = "platelet_count_decreased", _("Platelet count decreased")
    ANEMIA = "anemia", _("Anemia")
    WHITE_BLOOD_CELL_DECREASED = "white_blood_cell_decreased", _("White blood cell decreased")
    TUMOR_LYSIS_SYNDROME = "tumor_lysis_syndrome", _("Tumor lysis syndrome")
    SEPSIS = "sepsis", _("Sepsis")
    LUNG_INFECTION = "lung_infection", _("Lung infection")
    BACTEREMIA = "bacteremia", _("Bacteremia")
    NAUSEA = "nausea", _("Nausea")
    VOMITING = "vomiting", _("Vomiting")
    DIARRHEA = "diarrhea", _("Diarrhea")
    CONSTIPATION = "constipation", _("Constipation")
    FATIGUE = "fatigue", _("Fatigue")
    HYPOKALEMIA = "hypokalemia", _("Hypokalemia")
    HYPERKALEMIA = "hyperkalemia", _("Hyperkalemia")
    HYPERPHOSPHATEMIA = "hyperphosphatemia", _("Hyperphosphatemia")
    HYPERURICEMIA = "hyperuricemia", _("Hyperuricemia")
    CREATININE_INCREASED = "creatinine_increased", _("Creatinine increased")
    INTRACRANIAL_HEMORRHAGE = "intracranial_hemorrhage", _("Intracranial hemorrhage")
    OTHER = "other", _("Other (specify)")


class AeOutcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered / resolved")
    RECOVERING = "recovering", _("Recovering / resolving")
    NOT_RECOVERED = "not_recovered", _("Not recovered / not resolved")
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("Recovered with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


class Relation(models.TextChoices):
    RELATED = "related", _("Related")
    PROBABLY = "probably", _("Probably related")
    POSSIBLY = "possibly", _("Possibly related")
    UNLIKELY = "unlikely", _("Unlikely related")
    UNRELATED = "unrelated", _("Unrelated")


# A causal relation that is at least possible makes the event a suspected adverse reaction.
SUSPECTED_REACTION = (Relation.RELATED, Relation.PROBABLY, Relation.POSSIBLY)
RESOLVED_OUTCOMES = (AeOutcome.RECOVERED, AeOutcome.RECOVERED_WITH_SEQUELAE, AeOutcome.FATAL)


class AdverseEvent(models.Model):
    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.PROTECT, related_name="adverse_events"
    )
    term = models.CharField(_("CTCAE v5 term"), max_length=40, choices=CtcaeTerm.choices)
    term_other = models.CharField(_("other term (specify)"), max_length=200, blank=True)
    grade = models.PositiveSmallIntegerField(
        _("CTCAE grade"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    serious = models.BooleanField(
        default=False,
        help_text=_(
            "Results in death, is life-threatening, requires or prolongs hospitalisation, "
            "results in persistent disability, or is otherwise medically important (ICH E2A)."
        ),
    )
    onset_on = models.DateField(_("onset date"))
    resolved_on = models.DateField(_("resolution date"), null=True, blank=True)
    # The label's cytopenia rule resumes VEN "once grade 1-2": that day, which may come before
    # the event's resolution.
    recovered_to_grade_2_on = models.DateField(
        _("recovered to grade ≤ 2 on"), null=True, blank=True
    )
    outcome = models.CharField(max_length=24, choices=AeOutcome.choices)
    relation = models.CharField(_("relation to VEN"), max_length=12, choices=Relation.choices)
    description = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["request", "onset_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1) & Q(grade__lte=5), name="adverse_event_grade_1_to_5"
            ),
            # CTCAE v5: grade 5 is death related to the event.
            models.CheckConstraint(
                condition=~Q(grade=5) | Q(outcome="fatal"), name="adverse_event_grade_5_is_fatal"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="fatal") | Q(grade=5), name="adverse_event_fatal_is_grade_5"
            ),
            models.CheckConstraint(
                condition=(Q(term="other") & ~Q(term_other=""))
                | (~Q(term="other") & Q(term_other="")),
                name="adverse_event_other_term_specified",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("onset_on")),
                name="adverse_event_resolved_after_onset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term_label} grade {self.grade}"

    @property
    def term_label(self) -> str:
        return self.term_other if self.term == CtcaeTerm.OTHER else self.get_term_display()

    @property
    def is_suspected_reaction(self) -> bool:
        return self.relation in SUSPECTED_REACTION

    def clean(self) -> None:
        errors: dict[str, str] = {}
        self.term_other = self.term_other.strip()
        if self.term == CtcaeTerm.OTHER and not self.term_other:
            errors["term_other"] = gettext("Name the event when the term is 'Other (specify)'.")
        if self.term != CtcaeTerm.OTHER and self.term_other:
            errors["term_other"] = gettext("Only for 'Other (specify)': choose one or the other.")
        from followup.ctcae import grade_problem

        impossible = grade_problem(self.term, self.grade)
        if impossible:
            errors["grade"] = impossible
        if self.grade == 5 and self.outcome != AeOutcome.FATAL:
            errors["outcome"] = gettext(
                "A grade 5 event is a death (CTCAE v5): its outcome is fatal."
            )
        if self.outcome == AeOutcome.FATAL and self.grade != 5:
            errors["grade"] = gettext("A fatal event is grade 5 (CTCAE v5).")
        if self.outcome == AeOutcome.FATAL and not self.serious:
            errors["serious"] = gettext(
                "An event resulting in death is serious by definition (ICH E2A)."
            )
        if self.resolved_on and self.onset_on and self.resolved_on < self.onset_on:
            errors["resolved_on"] = gettext("The event cannot resolve before its onset.")
        if (
            self.recovered_to_grade_2_on
            and self.onset_on
            and self.recovered_to_grade_2_on < self.onset_on
        ):
            errors["recovered_to_grade_2_on"] = gettext(
                "The event cannot recover to grade 2 or lower before its onset."
            )
        if self.resolved_on and self.outcome not in RESOLVED_OUTCOMES:
            errors["resolved_on"] = gettext(
                "A resolution date goes with a recovered, recovered-with-sequelae or fatal outcome."
            )
        if errors:
            raise ValidationError(errors)


class ReportingDeadline(models.Model):
    """How long a healthcare professional has to report a suspected adverse reaction to the
    national pharmacovigilance network: law, so data with its source, never a constant."""

    country = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2, the hospital's."))
    biological = models.BooleanField(
        default=False, help_text=_("Applies to biological medicinal products (VEN is not one).")
    )
    hours = models.PositiveSmallIntegerField(help_text=_("From becoming aware of the reaction."))
    network = models.CharField(max_length=200, help_text=_("Where the report goes."))
    text = models.CharField(max_length=400)
    source = models.CharField(max_length=400)
    verified_on = models.DateField()
    confirmed = models.BooleanField(
        default=False, help_text=_("A person confirmed it against the current official text.")
    )
    unconfirmed_note = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    # The texts in other languages ({"it": {"network": …, "source": …}}), shown by
    # offlabel.i18n.localized; the English columns stay the record.
    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["country", "biological", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "biological", "version"], name="reporting_deadline_version"
            ),
            models.UniqueConstraint(
                fields=["country", "biological"],
                condition=Q(is_current=True),
                name="reporting_deadline_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country}: {self.text}"


# The reminder's sentence, English in the record; a page or the API shows it in the reader's
# language from the parameters stored with it (``PharmacovigilanceReminder.message_params``).
PV_REMINDER_TEXT = gettext_noop(
    "%(request)s: suspected adverse reaction '%(term)s' grade %(grade)s (%(seriousness)s) — "
    "report it to %(where)s %(when)s."
)
PV_REMINDER_BY = gettext_noop("by %(when)s")
PV_REMINDER_NO_DEADLINE = gettext_noop(
    "(no deadline is stored for %(country)s: as soon as possible)"
)
PV_REMINDER_SERIOUS = gettext_noop("serious")
PV_REMINDER_NOT_SERIOUS = gettext_noop("non-serious")
PV_REMINDER_DEFAULT_NETWORK = gettext_noop("the national pharmacovigilance system")


def pv_reminder_params(
    *,
    event: AdverseEvent,
    request_label: str,
    network: str,
    due_at: datetime | None,
    country: str,
    biological: bool,
) -> dict[str, object]:
    """What the reminder's sentence is made of, as JSON: the term by its code (translated when
    shown), the deadline as an ISO time (formatted in the reader's locale)."""
    return {
        "request": request_label,
        "term": event.term,
        "term_other": event.term_other,
        "grade": event.grade,
        "serious": event.serious,
        "network": network,
        "due_at": due_at.isoformat() if due_at else None,
        "country": country,
        "biological": biological,
    }


def pv_reminder_sentence(params: dict[str, Any]) -> str:
    """The reminder in the active language, from its stored parameters."""
    due_at = datetime.fromisoformat(params["due_at"]) if params.get("due_at") else None
    when = (
        gettext(PV_REMINDER_BY)
        % {"when": date_format(timezone.localtime(due_at), "SHORT_DATETIME_FORMAT")}
        if due_at
        else gettext(PV_REMINDER_NO_DEADLINE) % {"country": params.get("country", "")}
    )
    code = params.get("term", CtcaeTerm.OTHER)
    term = (
        params.get("term_other", "")
        if code == CtcaeTerm.OTHER or code not in CtcaeTerm.values
        else CtcaeTerm(code).label
    )
    return gettext(PV_REMINDER_TEXT) % {
        "request": params.get("request", ""),
        "term": term,
        "grade": params.get("grade", ""),
        "seriousness": gettext(
            PV_REMINDER_SERIOUS if params.get("serious") else PV_REMINDER_NOT_SERIOUS
        ),
        "where": params.get("network") or gettext(PV_REMINDER_DEFAULT_NETWORK),
        "when": when,
    }


class PharmacovigilanceReminder(models.Model):
    """Raised once per suspected adverse reaction (relation possible or stronger, serious or
    not: DM 30-4-2015 art. 22); resolved when the report reference is recorded.

    The deadline used is copied here, so a later change of the rule does not rewrite history.
    """

    adverse_event = models.OneToOneField(
        AdverseEvent, on_delete=models.PROTECT, related_name="pv_reminder"
    )
    hospital = models.ForeignKey("accounts.Hospital", on_delete=models.PROTECT, related_name="+")
    deadline = models.ForeignKey(
        ReportingDeadline, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deadline_hours = models.PositiveSmallIntegerField(null=True, blank=True)
    deadline_source = models.CharField(max_length=400, blank=True)
    deadline_confirmed = models.BooleanField(default=False)
    aware_at = models.DateTimeField(help_text=_("When the reporter became aware of the event."))
    due_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty when no deadline is stored for the country.")
    )
    message = models.CharField(max_length=400, help_text=_("The reminder in English."))
    message_params = models.JSONField(
        default=dict, blank=True, help_text=_("What the message is made of, to show it translated.")
    )
    emailed_to = models.JSONField(default=list, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    report_reference = models.CharField(
        max_length=120, blank=True, help_text=_("The national network's report number.")
    )
    reported_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["resolved_at", "due_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | ~Q(report_reference=""),
                name="pv_reminder_resolved_with_reference",
            ),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def display_message(self) -> str:
        """``message`` is the English record (audited, e-mailed); a reader of another language
        gets the same sentence from the parameters stored with it, not from the event as it is
        now (its grade may have changed since)."""
        if (translation.get_language() or "en").startswith("en") or not self.message_params:
            return self.message
        params = dict(self.message_params)
        if self.deadline is not None and params.get("network") == self.deadline.network:
            params["network"] = localized(self.deadline, "network")  # the network, translated
        return pv_reminder_sentence(params)

    @property
    def display_source(self) -> str:
        """The deadline's source in the reader's language, while it is the source this reminder
        copied (a later version of the rule does not rewrite it)."""
        if self.deadline is not None and self.deadline.source == self.deadline_source:
            return localized(self.deadline, "source")
        return self.deadline_source


class EndReason(models.TextChoices):
    COMPLETED_PLAN = "completed_plan", _("Completed the planned treatment")
    PROGRESSION = "progression", _("Progression or relapse")
    TOXICITY = "toxicity", _("Toxicity")
    PATIENT_CHOICE = "patient_choice", _("Patient choice")
    DEATH = "death", _("Death")
    TRANSPLANT = "transplant", _("Proceeded to transplant")
    OTHER = "other", _("Other")


class DeathCause(models.TextChoices):
    DISEASE = "disease", _("AML (progression or relapse)")
    INFECTION = "infection", _("Infection")
    HAEMORRHAGE = "haemorrhage", _("Haemorrhage")
    TREATMENT_TOXICITY = "treatment_toxicity", _("Treatment toxicity")
    TRANSPLANT_RELATED = "transplant_related", _("Transplant-related")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class FollowUp(models.Model):
    """Transplant, end of treatment, death and last contact (for censoring) of one request."""

    request = models.OneToOneField(
        "prescriptions.OffLabelRequest", on_delete=models.PROTECT, related_name="followup"
    )
    transplant_on = models.DateField(_("allogeneic transplant after VEN"), null=True, blank=True)
    treatment_end_on = models.DateField(_("end of VEN treatment"), null=True, blank=True)
    treatment_end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    treatment_end_note = models.CharField(max_length=300, blank=True)
    death_on = models.DateField(_("date of death"), null=True, blank=True)
    death_cause = models.CharField(max_length=20, choices=DeathCause.choices, blank=True)
    last_contact_on = models.DateField(
        _("last contact (alive)"),
        null=True,
        blank=True,
        help_text=_("Survival of a living patient is censored here."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(treatment_end_on__isnull=True) & Q(treatment_end_reason=""))
                | (Q(treatment_end_on__isnull=False) & ~Q(treatment_end_reason="")),
                name="followup_end_has_date_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(death_on__isnull=False) | Q(death_cause=""),
                name="followup_cause_only_with_death",
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up of request {self.request_id}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if bool(self.treatment_end_on) != bool(self.treatment_end_reason):
            errors["treatment_end_reason"] = gettext(
                "The end of treatment needs both a date and a reason."
            )
        if self.death_cause and not self.death_on:
            errors["death_cause"] = gettext("A cause of death needs the date of death.")
        if self.treatment_end_reason == EndReason.DEATH and not self.death_on:
            errors["death_on"] = gettext("Treatment ended by death: record the date of death.")
        if self.death_on:
            for name, message in (
                ("treatment_end_on", _("The end of treatment cannot be after the date of death.")),
                ("transplant_on", _("The transplant cannot be after the date of death.")),
                ("last_contact_on", _("The last contact cannot be after the date of death.")),
            ):
                value = getattr(self, name)
                if value and value > self.death_on:
                    errors[name] = str(message)
        if errors:
            raise ValidationError(errors)


class RenewalReport(RenderedDocument):
    """The clinical report on efficacy and safety a renewal of the AIFA 5% Fund needs, rendered
    to PDF by a Celery worker. Once ready it never changes (its SHA-256 is recorded)."""

    RENDER_TASK = "followup.tasks.renewal_report_render_task"

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.PROTECT, related_name="renewal_reports"
    )
    conclusion = models.TextField(
        help_text=_("The physician's summary of efficacy and safety, printed as written.")
    )
    file = models.FileField(upload_to="renewal-reports/%Y/%m/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Renewal report {self.pk} for request {self.request_id}"
