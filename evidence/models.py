"""The study database: published VEN evidence in R/R AML.

Every figure shown to a clinician is stored with the review's (or the publication's) own
wording and whether it came from Table 1 or the text, so it can be traced to its source.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Design(models.TextChoices):
    PHASE_2 = "phase_2", _("Phase II")
    PHASE_1B_2 = "phase_1b_2", _("Phase Ib/II")
    RETROSPECTIVE = "retrospective", _("Retrospective")
    CASE_REPORT = "case_report", _("Case report / series")


# The evidence hierarchy: a trial outranks a retrospective study, which outranks a case report.
DESIGN_LEVEL: dict[str, int] = {
    Design.PHASE_2: 3,
    Design.PHASE_1B_2: 3,
    Design.RETROSPECTIVE: 2,
    Design.CASE_REPORT: 1,
}
TRIAL_DESIGNS = frozenset(
    d for d, level in DESIGN_LEVEL.items() if level == max(DESIGN_LEVEL.values())
)


class SettingTag(models.TextChoices):
    RR_AML = "rr_aml", _("Relapsed/refractory AML")
    PRIMARY_REFRACTORY = "primary_refractory", _("Primary refractory")
    POST_TRANSPLANT_RELAPSE = (
        "post_transplant_relapse",
        _("Includes relapse after allogeneic transplant"),
    )
    POST_TRANSPLANT_COHORT = "post_transplant_cohort", _("Whole cohort relapsed after transplant")
    POST_TRANSPLANT_EXCLUDED = "post_transplant_excluded", _("Excluded relapse after transplant")
    TP53_MUTATED = "tp53_mutated", _("TP53-mutated")
    FLT3_MUTATED = "flt3_mutated", _("FLT3-mutated")
    NPM1_MUTATED = "npm1_mutated", _("NPM1-mutated")
    IDH_MUTATED = "idh_mutated", _("IDH1/2-mutated")
    POST_MPN = "post_mpn", _("Post-MPN AML")
    SECONDARY_AML = "secondary_aml", _("Secondary AML")
    NEWLY_DIAGNOSED_INCLUDED = "newly_diagnosed_included", _("Includes newly diagnosed")
    MDS_INCLUDED = "mds_included", _("Includes MDS / other myeloid")
    ADVERSE_RISK = "adverse_risk", _("Adverse risk")
    ELDERLY = "elderly", _("Older patients")
    PEDIATRIC = "pediatric", _("Paediatric")
    HEAVILY_PRETREATED = "heavily_pretreated", _("Heavily pretreated")
    BRIDGE_TO_TRANSPLANT = "bridge_to_transplant", _("Bridge to transplant")


class RegimenCode(models.TextChoices):
    VEN_MONO = "ven_mono", _("VEN monotherapy")
    VEN_AZA = "ven_aza", _("VEN + azacitidine")
    VEN_DEC_5 = "ven_dec_5", _("VEN + decitabine 5-day")
    VEN_DEC_10 = "ven_dec_10", _("VEN + decitabine 10-day")
    VEN_DEC = "ven_dec", _("VEN + decitabine (schedule not stated)")
    VEN_HMA = "ven_hma", _("VEN + HMA (not specified)")
    VEN_LDAC = "ven_ldac", _("VEN + low-dose cytarabine")
    VEN_FLAG_IDA = "ven_flag_ida", _("VEN + FLAG-Ida")
    VEN_DLI = "ven_dli", _("VEN + donor lymphocyte infusion")
    VEN_ACTIVE = "ven_active", _("ACTIVE (VEN + LDAC + actinomycin D)")
    VEN_OTHER = "ven_other", _("VEN + other")


class RRExclusion(models.TextChoices):
    """Why a study has no ORR among R/R, VEN-treated patients, shown wherever it is left out."""

    MIXED_POPULATION = "mixed_population", _("mixed population: no R/R-specific figure")
    MIXED_NO_RR_ORR = (
        "mixed_no_rr_orr",
        _("mixed population: no R/R-specific ORR (only an R/R CR/CRi rate)"),
    )
    POPULATION_NOT_STATED = (
        "population_not_stated",
        _("population not stated: no R/R-specific figure"),
    )
    NO_ORR_STATED = "no_orr_stated", _("R/R cohort, but no ORR stated")
    NOT_KEYED = "not_keyed", _("no R/R, VEN-treated figure recorded")


class FigureSource(models.TextChoices):
    TABLE = "table", _("Review, Table 1")
    TEXT = "text", _("Review, text")
    PUBLICATION = "publication", _("Publication")


def rr_population_label(n: int | None) -> str:
    if n is None:
        return gettext("R/R AML, VEN-treated")
    return gettext("R/R AML, VEN-treated, n = %(n)s") % {"n": n}


class Study(models.Model):
    class Origin(models.TextChoices):
        REVIEW = "review", _("From the seed review (Table 1)")
        ADDED = "added", _("Added by a pharmacist or regulatory officer")

    origin = models.CharField(
        _("origin"), max_length=10, choices=Origin.choices, default=Origin.ADDED
    )
    dataset_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Version of the review data file this row was loaded from."),
    )
    reference = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("The review's reference number (review rows only).")
    )
    first_author = models.CharField(_("first author"), max_length=120)
    year = models.PositiveSmallIntegerField(
        _("year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1950), MaxValueValidator(2100)],
    )
    year_note = models.CharField(max_length=300, blank=True)
    citation = models.CharField(
        _("citation"),
        max_length=500,
        blank=True,
        help_text=_("Full citation, DOI or PMID of the publication."),
    )
    design = models.CharField(_("design"), max_length=20, choices=Design.choices)
    design_text = models.CharField(_("design as stated"), max_length=300, blank=True)
    age_summary = models.CharField(_("age"), max_length=300, blank=True)
    median_age = models.DecimalField(
        _("median age"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    n_patients = models.PositiveIntegerField(
        _("number of patients"), validators=[MinValueValidator(1)]
    )
    n_rr_aml = models.PositiveIntegerField(_("patients with R/R AML"), null=True, blank=True)
    population_text = models.CharField(_("population as stated"), max_length=500, blank=True)
    interventions_text = models.TextField(_("arms and interventions"), blank=True)
    orr_percent = models.DecimalField(
        _("ORR (%)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Whole-cohort overall response rate as the source states it."),
    )
    orr_note = models.TextField(_("note on the ORR"), blank=True)
    # Evidence by population: the figures a summary may put in an R/R range. Keyed per study
    # (not computed from the outcomes) because deciding that a figure is R/R- and VEN-only is a
    # reading of the source that needs its own quoted words.
    n_rr_ven_treated = models.PositiveIntegerField(
        _("R/R patients treated with VEN"), null=True, blank=True
    )
    n_rr_ven_treated_wording = models.TextField(blank=True)
    orr_rr_percent = models.DecimalField(
        _("ORR in R/R, VEN-treated patients (%)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Overall response rate among R/R patients treated with VEN, as stated."),
    )
    orr_rr_wording = models.TextField(blank=True)
    cr_cri_rr_percent = models.DecimalField(
        _("CR/CRi in R/R, VEN-treated patients (%)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    cr_cri_rr_wording = models.TextField(blank=True)
    rr_exclusion = models.CharField(
        _("why no R/R ORR"),
        max_length=24,
        choices=RRExclusion.choices,
        default=RRExclusion.NOT_KEYED,
        blank=True,
    )
    efficacy_text = models.TextField(_("efficacy as stated"), blank=True)
    safety_text = models.TextField(_("safety as stated"), blank=True)
    source_passage = models.TextField(
        _("source passage"),
        help_text=_("The passage of the source this row comes from (Table 1 row, verbatim)."),
    )
    text_passages = models.JSONField(default=list, blank=True)
    notes = models.TextField(
        _("notes"), blank=True, help_text=_("Ambiguities in the source and how they were handled.")
    )
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["year", "first_author", "reference"]
        verbose_name_plural = "studies"
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(origin="review"),
                name="study_review_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(origin="added") | Q(reference__isnull=False),
                name="study_review_row_has_reference",
            ),
            models.CheckConstraint(
                condition=Q(n_rr_aml__isnull=True) | Q(n_rr_aml__lte=models.F("n_patients")),
                name="study_rr_not_more_than_cohort",
            ),
            models.CheckConstraint(
                condition=Q(orr_percent__isnull=True)
                | (Q(orr_percent__gte=0) & Q(orr_percent__lte=100)),
                name="study_orr_is_percent",
            ),
            models.CheckConstraint(
                condition=Q(n_rr_ven_treated__isnull=True)
                | Q(n_rr_ven_treated__lte=models.F("n_patients")),
                name="study_rr_ven_not_more_than_cohort",
            ),
            # An R/R figure stands on a known number of VEN-treated R/R patients, and a study
            # without an R/R ORR always says why.
            models.CheckConstraint(
                condition=(Q(orr_rr_percent__isnull=True) & Q(cr_cri_rr_percent__isnull=True))
                | Q(n_rr_ven_treated__isnull=False),
                name="study_rr_figure_has_patients",
            ),
            models.CheckConstraint(
                condition=(Q(orr_rr_percent__isnull=False) & Q(rr_exclusion=""))
                | (Q(orr_rr_percent__isnull=True) & ~Q(rr_exclusion="")),
                name="study_rr_orr_or_exclusion_reason",
            ),
            models.CheckConstraint(
                condition=Q(orr_rr_percent__isnull=True)
                | (Q(orr_rr_percent__gte=0) & Q(orr_rr_percent__lte=100)),
                name="study_rr_orr_is_percent",
            ),
        ]

    def __str__(self) -> str:
        year = self.year if self.year is not None else "n.d."
        ref = f" [{self.reference}]" if self.reference is not None else ""
        return f"{self.first_author} {year}{ref}"

    @property
    def is_from_review(self) -> bool:
        return self.origin == self.Origin.REVIEW

    @property
    def rr_population(self) -> str:
        """The population behind the R/R figures, e.g. "R/R AML, VEN-treated, n = 55"."""
        return rr_population_label(self.n_rr_ven_treated)

    @property
    def regimen_labels(self) -> list[str]:
        """Each regimen once, in source order (a study may report two arms of one regimen)."""
        return list(dict.fromkeys(r.get_code_display() for r in self.regimens.all()))


class StudySetting(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="settings")
    tag = models.CharField(max_length=40, choices=SettingTag.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "tag"], name="study_setting_unique")
        ]

    def __str__(self) -> str:
        return self.get_tag_display()


class StudyRegimen(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="regimens")
    code = models.CharField(max_length=20, choices=RegimenCode.choices)
    text = models.CharField(max_length=500)
    ven_dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    partner_dose = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.get_code_display()


class Outcome(models.Model):
    class Measure(models.TextChoices):
        ORR = "orr", _("Overall response rate (%)")
        CR = "cr", _("Complete remission (%)")
        CRI = "cri", _("CR with incomplete recovery (%)")
        CR_CRI = "cr_cri", _("CR/CRi (%)")
        MLFS = "mlfs", _("Morphologic leukaemia-free state (%)")
        MRD_NEGATIVE = "mrd_negative", _("MRD negativity (%)")
        MEDIAN_OS_MONTHS = "median_os_months", _("Median overall survival (months)")
        MEDIAN_DOR_MONTHS = "median_dor_months", _("Median duration of response (months)")
        MEDIAN_EFS_MONTHS = "median_efs_months", _("Median event-free survival (months)")
        MEDIAN_RFS_MONTHS = "median_rfs_months", _("Median relapse-free survival (months)")
        OS_12M_PERCENT = "os_12m_percent", _("12-month overall survival (%)")
        OTHER = "other", _("Other (see wording)")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="outcomes")
    measure = models.CharField(max_length=24, choices=Measure.choices)
    label = models.CharField(
        max_length=300, blank=True, help_text=_("What the figure is, with its unit, for 'other'.")
    )
    population = models.CharField(max_length=200, default="whole cohort")
    value = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    n = models.PositiveIntegerField(null=True, blank=True)
    denominator = models.PositiveIntegerField(null=True, blank=True)
    ci = models.CharField(max_length=100, blank=True)
    wording = models.TextField(help_text=_("The source's own words for this figure."))
    source = models.CharField(max_length=12, choices=FigureSource.choices)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.wording[:80]


class MutationFinding(models.Model):
    class Direction(models.TextChoices):
        FAVOURABLE = "favourable", _("Favourable")
        UNFAVOURABLE = "unfavourable", _("Unfavourable")
        NO_DIFFERENCE = "no_difference", _("No difference")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="mutation_findings")
    gene = models.CharField(max_length=60, db_index=True)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    effect = models.CharField(max_length=300)
    wording = models.TextField()
    source = models.CharField(max_length=12, choices=FigureSource.choices)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.wording[:80]


class SafetyFinding(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="safety_findings")
    event = models.CharField(max_length=200)
    grade = models.CharField(max_length=20, blank=True)
    percent = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    n = models.PositiveIntegerField(null=True, blank=True)
    wording = models.TextField()
    source = models.CharField(max_length=12, choices=FigureSource.choices)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.wording[:80]
