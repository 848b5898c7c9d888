"""Label rules (versioned data), safety overrides, TLS precautions, dispensing and payers."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class LabelRuleSet(models.Model):
    """One version of the label rules data file: the sourced label facts the checks read.

    Loading a changed file adds a version and makes it current; findings name the version
    they were computed with, so an old decision can be read against the rules of its day.
    """

    version = models.PositiveIntegerField(unique=True)
    dataset_version = models.PositiveIntegerField(help_text=_("Version written in the data file."))
    verified_on = models.DateField()
    data = models.JSONField()
    data_hash = models.CharField(max_length=64, unique=True)
    is_current = models.BooleanField(default=False)
    change_note = models.CharField(max_length=300, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="one_current_label_rules"
            )
        ]

    def __str__(self) -> str:
        return gettext("Label rules v%(version)s (verified %(date)s)") % {
            "version": self.version,
            "date": date_format(self.verified_on, "SHORT_DATE_FORMAT"),
        }


class SafetyOverride(models.Model):
    """A pharmacist's reasoned decision to go ahead despite a blocking finding.

    It holds for the finding as it was worded when overridden (its fingerprint): if the dose
    or the medications change, the finding changes and needs a new decision.
    """

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.CASCADE, related_name="safety_overrides"
    )
    code = models.CharField(max_length=60)
    fingerprint = models.CharField(max_length=64)
    message = models.TextField(help_text=_("The finding as it read when overridden."))
    rules_version = models.PositiveIntegerField()
    reason = models.TextField()
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    overridden_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["overridden_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "fingerprint"], name="safety_override_once_per_finding"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} overridden"


class TlsPrecautions(models.Model):
    """Tumour-lysis prophylaxis before the first dose, confirmed by a pharmacist or physician."""

    request = models.OneToOneField(
        "prescriptions.OffLabelRequest", on_delete=models.CASCADE, related_name="tls"
    )
    first_dose_at = models.DateTimeField(
        _("first dose"), help_text=_("Planned date and time of the first VEN dose.")
    )
    hydration = models.BooleanField(_("hydration started"), default=False)
    antihyperuricaemic = models.CharField(
        _("anti-hyperuricaemic agent"), max_length=120, blank=True, help_text=_("e.g. allopurinol")
    )
    chemistry_corrected = models.BooleanField(
        _("pre-existing chemistry abnormalities corrected"), default=False
    )
    risk_note = models.TextField(
        _("TLS risk factors and extra monitoring"), blank=True, help_text=_("Optional.")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"TLS precautions for request {self.request_id}"

    @property
    def complete(self) -> bool:
        return self.hydration and bool(self.antihyperuricaemic.strip()) and self.chemistry_corrected


class Payer(models.TextChoices):
    NATIONAL_SERVICE = "national_service", _("National health service")
    HOSPITAL_BUDGET = "hospital_budget", _("Hospital budget")
    AIFA_FUND = "aifa_fund", _("AIFA 5% Fund")
    INSURER = "insurer", _("Insurer")
    COMPANY_FREE_SUPPLY = "company_free_supply", _("Company free supply")


class TreatmentPlanVersion(models.Model):
    """One version of a request's treatment plan: the inputs it was computed from (request,
    profile, medications, follow-up, label rules) and what it gave. A change to the inputs
    makes a new version; the consent forms and attestations made on an older one are
    superseded. Written by the services that change an input, never by a page view."""

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.CASCADE, related_name="plan_versions"
    )
    number = models.PositiveIntegerField()
    inputs_hash = models.CharField(max_length=64)
    inputs = models.JSONField(help_text=_("The plan's inputs as computed (a snapshot)."))
    schedule = models.JSONField(help_text=_("Daily doses and tablets per cycle, as planned."))
    rules_version = models.PositiveIntegerField()
    changed = models.JSONField(default=list, blank=True, help_text=_("Inputs that changed."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="plan_version_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="plan_version_positive"),
        ]

    def __str__(self) -> str:
        return f"Plan v{self.number} of request {self.request_id}"


class SafetySummary(models.Model):
    """How many blocking findings of a request wait for a decision, kept for the lists (the
    queue shows it per row without running the checks 25 times). Refreshed by every service
    that changes what the checks read, and when the label rules change."""

    request = models.OneToOneField(
        "prescriptions.OffLabelRequest", on_delete=models.CASCADE, related_name="safety_summary"
    )
    open_blocking = models.PositiveSmallIntegerField(default=0)
    rules_version = models.PositiveIntegerField()
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.open_blocking} open blocking for request {self.request_id}"


class Dispensation(models.Model):
    """A supply for one cycle. A cycle may be supplied in parts (a partial supply with its
    reason); together they never exceed the plan's tablets for that cycle."""

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.PROTECT, related_name="dispensations"
    )
    cycle = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    payer = models.CharField(max_length=24, choices=Payer.choices)
    total_mg = models.DecimalField(max_digits=9, decimal_places=1)
    cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Value at the hospital's recorded prices; empty if a price is missing."),
    )
    currency = models.CharField(max_length=3, blank=True)
    price_sources = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    partial = models.BooleanField(
        default=False, help_text=_("Less than the cycle's plan; the remainder stays due.")
    )
    plan_version = models.PositiveIntegerField(null=True, blank=True)
    dispensed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    dispensed_at = models.DateTimeField()

    class Meta:
        ordering = ["request", "cycle"]
        constraints = [
            models.CheckConstraint(condition=Q(cycle__gte=1), name="dispense_cycle_positive"),
        ]

    def __str__(self) -> str:
        return f"Cycle {self.cycle} of request {self.request_id}"


class DispensationLine(models.Model):
    dispensation = models.ForeignKey(Dispensation, on_delete=models.CASCADE, related_name="lines")
    strength_mg = models.DecimalField(max_digits=6, decimal_places=1)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    lot = models.CharField(max_length=40)
    expiry = models.DateField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)

    class Meta:
        ordering = ["-strength_mg"]
        constraints = [
            models.UniqueConstraint(
                fields=["dispensation", "strength_mg", "lot"], name="dispense_line_unique_lot"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="dispense_line_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.strength_mg} mg (lot {self.lot})"

    @property
    def value(self) -> Decimal | None:
        return None if self.unit_price is None else self.unit_price * self.quantity
