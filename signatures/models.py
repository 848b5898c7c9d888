from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class SignatureAction(models.TextChoices):
    """The acts that are electronic signatures (issue 16)."""

    APPROVE = "approve", gettext_lazy("Approve")
    REJECT = "reject", gettext_lazy("Reject")
    WITHDRAW = "withdraw", gettext_lazy("Withdraw request")
    DISPENSE = "dispense", gettext_lazy("Dispense")
    CONSENT_SIGNATURE = "consent_signature", gettext_lazy("Record a consent signature")
    CONSENT_WITHDRAWAL = "consent_withdrawal", gettext_lazy("Record a consent withdrawal")
    RULE_EDIT = "rule_edit", gettext_lazy("Edit a rule")


class ElectronicSignature(models.Model):
    """One signature as 21 CFR 11.50 asks it to be shown: the signer's printed name, the date
    and time, and the meaning ("approved as pharmacist", "dispensed cycle 2"), with how the
    signer proved who they were. Written by ``signatures.services.signature_record`` in the
    transaction of the act it signs; never changed."""

    Action = SignatureAction

    action = models.CharField(max_length=24, choices=SignatureAction.choices)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures"
    )
    signer_name = models.CharField(max_length=300, help_text="Printed name at signing time.")
    signer_role = models.CharField(max_length=40, blank=True)
    hospital = models.ForeignKey(
        "accounts.Hospital", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The meaning in English as recorded, plus its code and parameters, so a page in another
    # language shows the same meaning translated.
    meaning = models.CharField(max_length=300)
    meaning_params = models.JSONField(default=dict, blank=True)
    method = models.CharField(
        max_length=40, help_text="How the signer authenticated: password, totp, passkey, oidc…"
    )
    authenticated_at = models.DateTimeField()
    signed_at = models.DateTimeField()
    # What was signed: the request (when there is one) and the object's own reference.
    request = models.ForeignKey(
        "prescriptions.OffLabelRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signatures",
    )
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    audit_event = models.ForeignKey(
        "audit.AuditEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["signed_at", "pk"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.signer_name}: {self.meaning} ({self.signed_at:%Y-%m-%d %H:%M})"
