"""Patients (pseudonymised), their clinical profile, and off-label requests with their history.

A patient is shown everywhere by a hospital-scoped pseudonym. Name, date of birth and tax or
health-card number live in ``PatientIdentity``, read only through ``patient_identity_read``
(treating physicians and pharmacists of the same hospital), which audits every read.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from offlabel.dates import date_not_in_future


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class LabStatus(models.TextChoices):
    """A laboratory value against the reporting laboratory's own reference range."""

    NORMAL = "normal", _("Within the reference range")
    HIGH = "high", _("Above the reference range")
    LOW = "low", _("Below the reference range")
    UNKNOWN = "unknown", _("Unknown")


def _lab_value(label: Any, digits: int, places: int, maximum: str) -> models.DecimalField[Any, Any]:
    return models.DecimalField(
        label,
        max_digits=digits,
        decimal_places=places,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal(maximum))],
    )


def _lab_status(label: Any) -> models.CharField[Any, Any]:
    return models.CharField(
        label, max_length=8, choices=LabStatus.choices, default=LabStatus.UNKNOWN
    )


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        UNKNOWN = "unknown", _("Unknown")

    class AmlType(models.TextChoices):
        DE_NOVO = "de_novo", _("De novo")
        SECONDARY = "secondary", _("Secondary (after MDS/CMML)")
        THERAPY_RELATED = "therapy_related", _("Therapy-related")
        POST_MPN = "post_mpn", _("Post-MPN")
        UNKNOWN = "unknown", _("Unknown")

    class DiseaseStatus(models.TextChoices):
        PRIMARY_REFRACTORY = "primary_refractory", _("Primary refractory")
        FIRST_RELAPSE = "first_relapse", _("First relapse")
        SECOND_OR_LATER_RELAPSE = "second_or_later_relapse", _("Second or later relapse")
        RELAPSE_AFTER_ALLO = "relapse_after_allo", _("Relapse after allogeneic transplant")

    class Eln(models.TextChoices):
        FAVOURABLE = "favourable", _("Favourable")
        INTERMEDIATE = "intermediate", _("Intermediate")
        ADVERSE = "adverse", _("Adverse")
        UNKNOWN = "unknown", _("Unknown")

    class Hepatic(models.TextChoices):
        NORMAL = "normal", _("Normal")
        MILD = "mild", _("Mild impairment (Child-Pugh A)")
        MODERATE = "moderate", _("Moderate impairment (Child-Pugh B)")
        SEVERE = "severe", _("Severe impairment (Child-Pugh C)")
        UNKNOWN = "unknown", _("Unknown")

    hospital = models.ForeignKey(
        "accounts.Hospital", on_delete=models.PROTECT, related_name="patients"
    )
    pseudonym = models.CharField(max_length=32, editable=False)
    treating_physicians = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="treated_patients", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # --- Clinical profile: blank (null) means "unknown" ---
    # Under 18 is recorded with a warning, not refused: the label is for adults, and a request
    # for a younger patient is an off-label question the prescriber has to be told about.
    age_years = models.PositiveSmallIntegerField(
        _("age (years)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(110)],
    )
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    weight_kg = models.DecimalField(
        _("weight (kg)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("25")), MaxValueValidator(Decimal("300"))],
    )
    height_cm = models.DecimalField(
        _("height (cm)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("100")), MaxValueValidator(Decimal("230"))],
    )
    aml_type = models.CharField(
        _("AML type"), max_length=20, choices=AmlType.choices, default=AmlType.UNKNOWN
    )
    disease_status = models.CharField(
        _("disease status"), max_length=30, choices=DiseaseStatus.choices, blank=True
    )
    prior_lines = models.PositiveSmallIntegerField(
        _("number of prior lines"), null=True, blank=True, validators=[MaxValueValidator(15)]
    )
    prior_azacitidine = models.CharField(
        _("prior azacitidine"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    azacitidine_cycles = models.PositiveSmallIntegerField(
        _("azacitidine cycles"), null=True, blank=True
    )
    prior_decitabine = models.CharField(
        _("prior decitabine"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    decitabine_cycles = models.PositiveSmallIntegerField(
        _("decitabine cycles"), null=True, blank=True
    )
    prior_intensive_chemo = models.CharField(
        _("prior intensive chemotherapy"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    prior_flt3_inhibitor = models.CharField(
        _("prior FLT3 inhibitor"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    prior_venetoclax = models.CharField(
        _("prior venetoclax"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    prior_hma_with_venetoclax = models.CharField(
        _("prior azacitidine or decitabine given together with venetoclax"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
        help_text=_(
            "For example through the AIFA 5% Fund or off-label: the 2022 amendment of the "
            "Law 648 listing concerns patients already treated and responding on venetoclax "
            "with azacitidine or decitabine."
        ),
    )
    prior_allo_transplant = models.CharField(
        _("prior allogeneic transplant"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    allo_transplant_date = models.DateField(
        _("date of allogeneic transplant"),
        null=True,
        blank=True,
        validators=[date_not_in_future],
    )
    eln_risk = models.CharField(
        _("ELN risk"), max_length=14, choices=Eln.choices, default=Eln.UNKNOWN
    )
    complex_karyotype = models.CharField(
        _("complex karyotype"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    ecog = models.PositiveSmallIntegerField(
        _("ECOG performance status"), null=True, blank=True, validators=[MaxValueValidator(4)]
    )
    fit_for_intensive_chemo = models.CharField(
        _("fit for intensive chemotherapy"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    transplant_eligible = models.CharField(
        _("transplant eligible"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    wbc_10e9_l = models.DecimalField(
        _("WBC (×10⁹/L)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
    )
    anc_10e9_l = models.DecimalField(
        _("ANC (×10⁹/L)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("500"))],
    )
    platelets_10e9_l = models.DecimalField(
        _("platelets (×10⁹/L)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("3000"))],
    )
    creatinine_clearance_ml_min = models.DecimalField(
        _("creatinine clearance (mL/min)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("300"))],
    )
    hepatic_function = models.CharField(
        _("hepatic function (Child-Pugh class)"),
        max_length=10,
        choices=Hepatic.choices,
        default=Hepatic.UNKNOWN,
    )
    # Tumour-lysis risk (label: circulating blasts, marrow burden, LDH, renal function) and the
    # pre-existing chemistry to correct before the first dose. Empty means unknown.
    peripheral_blasts_10e9_l = _lab_value(_("circulating blasts (×10⁹/L)"), 6, 2, "1000")
    marrow_blasts_percent = _lab_value(_("bone-marrow blasts (%)"), 4, 1, "100")
    high_marrow_burden = models.CharField(
        _("high leukaemic burden in the marrow"),
        max_length=8,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
        help_text=_("The physician's judgement from the latest marrow assessment."),
    )
    ldh_u_l = _lab_value(_("LDH (U/L)"), 6, 0, "100000")
    ldh_uln_u_l = _lab_value(_("LDH upper limit of normal (U/L)"), 6, 0, "100000")
    potassium_mmol_l = _lab_value(_("potassium (mmol/L)"), 4, 2, "20")
    potassium_status = _lab_status(_("potassium against the reference range"))
    phosphate_mmol_l = _lab_value(_("phosphate (mmol/L)"), 4, 2, "20")
    phosphate_status = _lab_status(_("phosphate against the reference range"))
    uric_acid_umol_l = _lab_value(_("uric acid (µmol/L)"), 6, 0, "5000")
    uric_acid_status = _lab_status(_("uric acid against the reference range"))
    calcium_mmol_l = _lab_value(_("calcium (mmol/L)"), 4, 2, "10")
    calcium_status = _lab_status(_("calcium against the reference range"))

    class Meta:
        ordering = ["pseudonym"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "pseudonym"], name="patient_pseudonym_unique_per_hospital"
            ),
            models.CheckConstraint(
                condition=Q(allo_transplant_date__isnull=True) | Q(prior_allo_transplant="yes"),
                name="patient_transplant_date_only_if_transplanted",
            ),
        ]

    def __str__(self) -> str:
        return self.pseudonym

    @property
    def bsa_m2(self) -> Decimal | None:
        """Body surface area, Mosteller: sqrt(height cm x weight kg / 3600)."""
        if self.weight_kg is None or self.height_cm is None:
            return None
        bsa = math.sqrt(float(self.height_cm) * float(self.weight_kg) / 3600)
        return Decimal(str(bsa)).quantize(Decimal("0.01"))

    @property
    def prior_hma(self) -> str:
        values = {self.prior_azacitidine, self.prior_decitabine}
        if YesNoUnknown.YES in values:
            return YesNoUnknown.YES
        if values == {YesNoUnknown.NO}:
            return YesNoUnknown.NO
        return YesNoUnknown.UNKNOWN


class PatientIdentity(models.Model):
    """Identifying data. Never listed, exported or logged; every read is audited."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="identity")
    given_name = models.CharField(_("given name"), max_length=120)
    family_name = models.CharField(_("family name"), max_length=120)
    date_of_birth = models.DateField(_("date of birth"), validators=[date_not_in_future])
    national_id = models.CharField(
        _("tax code / health-card number"),
        max_length=40,
        blank=True,
        help_text=_("Codice fiscale, NIR, tarjeta sanitaria, NHS number…"),
    )

    def __str__(self) -> str:
        return f"identity of {self.patient_id}"  # never the name: this may reach a log


class Gene(models.TextChoices):
    IDH1 = "IDH1", "IDH1"
    IDH2 = "IDH2", "IDH2"
    NPM1 = "NPM1", "NPM1"
    FLT3_ITD = "FLT3_ITD", "FLT3-ITD"
    FLT3_TKD = "FLT3_TKD", "FLT3-TKD"
    TP53 = "TP53", "TP53"
    RUNX1 = "RUNX1", "RUNX1"
    ASXL1 = "ASXL1", "ASXL1"
    TET2 = "TET2", "TET2"
    SRSF2 = "SRSF2", "SRSF2"
    DNMT3A = "DNMT3A", "DNMT3A"
    KRAS = "KRAS", "KRAS"
    NRAS = "NRAS", "NRAS"
    SF3B1 = "SF3B1", "SF3B1"


class PatientMutation(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        ABSENT = "absent", _("Absent")
        NOT_TESTED = "not_tested", _("Not tested")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="mutations")
    gene = models.CharField(max_length=10, choices=Gene.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_TESTED)

    class Meta:
        ordering = ["gene"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "gene"], name="mutation_unique_per_patient")
        ]

    def __str__(self) -> str:
        return f"{self.get_gene_display()}: {self.get_status_display()}"


class Interaction(models.TextChoices):
    STRONG_CYP3A_INHIBITOR = "strong_cyp3a_inhibitor", _("Strong CYP3A inhibitor")
    MODERATE_CYP3A_INHIBITOR = "moderate_cyp3a_inhibitor", _("Moderate CYP3A inhibitor")
    PGP_INHIBITOR = "pgp_inhibitor", _("P-gp inhibitor")
    STRONG_CYP3A_INDUCER = "strong_cyp3a_inducer", _("Strong/moderate CYP3A inducer")
    NONE_KNOWN = "none_known", _("No known interaction")
    UNKNOWN = "unknown", _("Not classified")


ADULT_AGE = 18


def minor_age_warning(age_years: int | None) -> str | None:
    """The warning (never a refusal) for a patient under 18: one wording for every surface."""
    if age_years is None or age_years >= ADULT_AGE:
        return None
    return gettext(
        "The patient is under 18 (%(age)s years): venetoclax is authorised for adults. Check "
        "that a request for this patient is intended."
    ) % {"age": age_years}


def medication_dates_error() -> str:
    """The one wording of the rule, for the model, the form and the API."""
    return str(_("The stop date is before the start date."))


class ConcomitantMedication(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="medications")
    drug_name = models.CharField(max_length=120)
    interaction = models.CharField(
        max_length=30, choices=Interaction.choices, default=Interaction.UNKNOWN
    )
    also_pgp_inhibitor = models.BooleanField(default=False)
    dose_text = models.CharField(_("dose and schedule"), max_length=120, blank=True)
    ongoing = models.BooleanField(default=True)
    # Dated so the plan knows when an inhibitor's dose change starts and when the previous
    # dose resumes (the label: 2-3 days after it stops).
    started_on = models.DateField(_("started on"), null=True, blank=True)
    stopped_on = models.DateField(_("stopped on"), null=True, blank=True)

    class Meta:
        ordering = ["drug_name"]

    def __str__(self) -> str:
        return self.drug_name

    def clean(self) -> None:
        if self.started_on and self.stopped_on and self.stopped_on < self.started_on:
            raise ValidationError({"stopped_on": medication_dates_error()})


class Drug(models.Model):
    """The medicine requested off-label. Venetoclax first; the model allows others."""

    name = models.CharField(max_length=120, unique=True)
    atc_code = models.CharField(_("ATC code"), max_length=10, blank=True)
    has_marketing_authorisation = models.BooleanField(
        default=True, help_text=_("Authorised for some indication (venetoclax: EU and US).")
    )
    # A suspected adverse reaction to a biological medicine is reported within 36 hours in
    # Italy, not 2 days (DM 30-4-2015 art. 22). Venetoclax is a small molecule.
    biological = models.BooleanField(
        _("biological medicinal product"),
        default=False,
        help_text=_("Directive 2001/83/EC Annex I, part I, 3.2.1.1 (b): e.g. an antibody."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RequestQuerySet(models.QuerySet["OffLabelRequest"]):
    def kept(self) -> RequestQuerySet:
        """Without the drafts their prescribers discarded: those are kept for the audit trail
        and shown nowhere (lists, reports, previews)."""
        return self.filter(discarded_at__isnull=True)


class OffLabelRequest(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In pharmacy review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        RESUBMITTED = "resubmitted", _("Resubmitted")
        AWAITING_AUTHORISATION = "awaiting_authorisation", _("Awaiting authorisation")
        APPROVED = "approved", _("Approved")
        ACTIVE = "active", _("Active (dispensing)")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        SUSPENDED = "suspended", _("Suspended")

    # --- Groups of states: named once here, read everywhere (issue 18) -----------------------
    # Ordered tuples, so that a query's IN list is the same at every run.

    # The prescriber edits the request (the dashboard's "waiting for me").
    EDITABLE_STATES = (Status.DRAFT, Status.CHANGES_REQUESTED)
    # Sent to the pharmacy and not yet decided (a request may be withdrawn or updated then).
    AWAITING_DECISION_STATES = (
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.CHANGES_REQUESTED,
        Status.RESUBMITTED,
        Status.AWAITING_AUTHORISATION,
    )
    # With the pharmacy, which is deciding (a request sent back for changes is the
    # prescriber's to edit): its approval waits for a signed consent (the home page's list).
    WITH_PHARMACY_STATES = (
        Status.SUBMITTED,
        Status.RESUBMITTED,
        Status.IN_REVIEW,
        Status.AWAITING_AUTHORISATION,
    )
    # Before approval an attestation is part of the decision being prepared: a change to what
    # it attested withdraws it. After approval it is the record of the decision taken.
    DECISION_PENDING_STATES = (Status.DRAFT, *AWAITING_DECISION_STATES)
    # The pharmacy's work queue: waiting for the pharmacy, or approved and not yet dispensed.
    QUEUE_STATES = (
        Status.SUBMITTED,
        Status.RESUBMITTED,
        Status.IN_REVIEW,
        Status.AWAITING_AUTHORISATION,
        Status.APPROVED,
    )
    # The pharmacy's decision (the report's decision times).
    DECISION_STATES = (Status.APPROVED, Status.REJECTED, Status.AWAITING_AUTHORISATION)
    # A cycle may be dispensed.
    DISPENSABLE_STATES = (Status.APPROVED, Status.ACTIVE)
    # Treatment has started: follow-up is recorded.
    TREATED_STATES = (Status.ACTIVE, Status.COMPLETED, Status.SUSPENDED)
    # The tumour lysis precautions may still be recorded or changed.
    TLS_EDITABLE_STATES = (
        *DECISION_PENDING_STATES,
        Status.APPROVED,
        Status.ACTIVE,
        Status.SUSPENDED,
    )
    # Closed: nothing more happens to the request.
    CLOSED_STATES = (Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN)

    class Regimen(models.TextChoices):
        AZACITIDINE = "azacitidine", _("VEN + azacitidine")
        DECITABINE_5 = "decitabine_5", _("VEN + decitabine 5-day")
        DECITABINE_10 = "decitabine_10", _("VEN + decitabine 10-day")
        LDAC = "ldac", _("VEN + low-dose cytarabine")
        FLAG_IDA = "flag_ida", _("VEN + FLAG-Ida")
        DLI = "dli", _("VEN + donor lymphocyte infusion")
        MONOTHERAPY = "monotherapy", _("VEN monotherapy")
        OTHER = "other", _("Other combination")

    class RampUp(models.TextChoices):
        HMA_3_DAY = (
            "hma_3_day",
            _("3-day ramp-up 100 / 200 / 400 mg (with azacitidine or decitabine)"),
        )
        LDAC_4_DAY = "ldac_4_day", _("4-day ramp-up 100 / 200 / 400 / 600 mg (with LDAC)")
        LABEL_ADJUSTED = (
            "label_adjusted",
            _("The label's ramp-up for the partner, adjusted for interacting drugs and the liver"),
        )
        CUSTOM = "custom", _("Other (describe)")

    class Jurisdiction(models.TextChoices):
        IT = "IT", _("Italy")
        FR = "FR", _("France")
        DE = "DE", _("Germany")
        ES = "ES", _("Spain")
        GB = "GB", _("United Kingdom")
        US = "US", _("United States")

    hospital = models.ForeignKey(
        "accounts.Hospital", on_delete=models.PROTECT, related_name="requests"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="requests")
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prescribed_requests"
    )
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="requests")
    indication = models.CharField(
        max_length=200, default="Relapsed/refractory acute myeloid leukaemia"
    )
    regimen = models.CharField(_("regimen"), max_length=20, choices=Regimen.choices, blank=True)
    regimen_other = models.CharField(_("other regimen (describe)"), max_length=200, blank=True)
    ven_target_dose_mg = models.DecimalField(
        _("VEN target daily dose (mg)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("10")), MaxValueValidator(Decimal("1200"))],
    )
    ramp_up = models.CharField(_("ramp-up"), max_length=16, choices=RampUp.choices, blank=True)
    ramp_up_custom = models.CharField(_("ramp-up (describe)"), max_length=200, blank=True)
    cycles_planned = models.PositiveSmallIntegerField(
        _("cycles planned"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(36)],
    )
    cycle_length_days = models.PositiveSmallIntegerField(
        _("cycle length (days)"),
        default=28,
        validators=[MinValueValidator(7), MaxValueValidator(56)],
    )
    clinical_rationale = models.TextField(
        _("clinical rationale"),
        blank=True,
        help_text=_("Why the authorised options do not serve this patient."),
    )
    # The consent form never prints the clinical rationale (written for colleagues); it prints
    # this summary, written for the patient.
    lay_summary = models.TextField(
        _("summary for the patient"),
        blank=True,
        help_text=_(
            "Why this treatment is proposed, in plain words: printed on the consent form "
            "instead of the clinical rationale."
        ),
    )
    jurisdiction = models.CharField(
        _("jurisdiction"), max_length=2, choices=Jurisdiction.choices, default=Jurisdiction.IT
    )
    pathway = models.CharField(
        _("pathway"), max_length=60, blank=True, help_text=_("Regulatory pathway, e.g. Law 94/98.")
    )
    needs_outside_authorisation = models.BooleanField(
        default=False,
        help_text=_("The pathway needs an outside decision (e.g. AIFA, ethics committee)."),
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    version = models.PositiveIntegerField(
        default=1, help_text=_("Bumped by every change; stale forms conflict.")
    )
    profile_snapshot = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # A never-submitted draft its prescriber discarded: kept (and audited), shown nowhere.
    discarded_at = models.DateTimeField(null=True, blank=True, editable=False)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = RequestQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(fields=["hospital", "status"]),
            # The request list's order (newest first), over the requests the lists show (not
            # the discarded drafts): its first page is read in index order, without a sort, and
            # its count is an index-only scan of the hospital's entries.
            models.Index(
                fields=["hospital", "-updated_at", "-id"],
                name="request_recent_idx",
                condition=Q(discarded_at__isnull=True),
            ),
            # One status, oldest change first (the home pages' sections).
            models.Index(
                fields=["hospital", "status", "status_changed_at"], name="request_queue_idx"
            ),
            # The pharmacy queue: every waiting status together, oldest change first. Its
            # predicate is the queue's filter (OffLabelRequest.QUEUE_STATES, kept in step by
            # tests/prescriptions/test_list_indexes.py), so the page is read in index
            # order and "N waiting" is an index-only count of the hospital's entries.
            models.Index(
                fields=["hospital", "status_changed_at", "id"],
                name="request_waiting_idx",
                condition=Q(
                    status__in=[
                        "submitted",
                        "resubmitted",
                        "in_review",
                        "awaiting_authorisation",
                        "approved",
                    ],
                    discarded_at__isnull=True,
                ),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(discarded_at__isnull=True)
                | Q(status="draft", submitted_at__isnull=True, discarded_by__isnull=False),
                name="request_discarded_only_if_never_submitted_draft",
            ),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk} ({self.patient.pseudonym})"

    @property
    def reference(self) -> str:
        return request_reference(self.pk)

    # get_status_display() rebuilds the field's choices at each call; the lists show 25 rows.
    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def regimen_label(self) -> str:
        return str(_REGIMEN_LABELS.get(self.regimen, self.regimen))

    def is_editable(self) -> bool:
        return self.discarded_at is None and self.status in self.EDITABLE_STATES

    def is_discardable(self) -> bool:
        """Never submitted: a draft whose prescriber may throw it away (a submitted request is
        withdrawn, with a reason, instead)."""
        return (
            self.discarded_at is None
            and self.status == self.Status.DRAFT
            and self.submitted_at is None
        )


class RequestTransition(models.Model):
    """One row per state change (with who, when and why): the request's history."""

    request = models.ForeignKey(
        OffLabelRequest, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=24, choices=OffLabelRequest.Status.choices)
    to_status = models.CharField(max_length=24, choices=OffLabelRequest.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status}"


class EvidenceAttachment(models.Model):
    """A study the physician attached, frozen as it was when attached."""

    request = models.ForeignKey(
        OffLabelRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    study = models.ForeignKey(
        "evidence.Study", on_delete=models.PROTECT, related_name="attachments"
    )
    note = models.TextField(blank=True)
    snapshot = models.JSONField(editable=False)
    rank_when_attached = models.PositiveSmallIntegerField(null=True, blank=True)
    reasons_when_attached = models.JSONField(default=list, editable=False)
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    attached_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["attached_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "study"], name="attachment_unique_per_request"
            )
        ]

    def __str__(self) -> str:
        snap: dict[str, Any] = self.snapshot or {}
        return f"{snap.get('first_author')} {snap.get('year')}"


class DrugPrice(models.Model):
    """The hospital's purchase price of one tablet strength, with where the figure comes from."""

    hospital = models.ForeignKey(
        "accounts.Hospital", on_delete=models.PROTECT, related_name="drug_prices"
    )
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="prices")
    strength_mg = models.DecimalField(max_digits=6, decimal_places=1)
    price_per_unit = models.DecimalField(max_digits=10, decimal_places=4)
    currency = models.CharField(max_length=3, default="EUR")
    source = models.CharField(
        max_length=300, help_text=_("Tender, invoice or price list the figure comes from.")
    )
    valid_from = models.DateField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["drug", "strength_mg", "-valid_from"]

    def __str__(self) -> str:
        return f"{self.drug} {self.strength_mg} mg: {self.price_per_unit} {self.currency}"

    @property
    def price_per_mg(self) -> Decimal:
        return self.price_per_unit / self.strength_mg


# Value -> lazy label: translated when shown, in the reader's language.
STATUS_LABELS = dict(OffLabelRequest.Status.choices)
_REGIMEN_LABELS = dict(OffLabelRequest.Regimen.choices)


def request_reference(pk: int) -> str:
    """What people call a request (OL-000042), also where only its id was read."""
    return f"OL-{pk:06d}"
