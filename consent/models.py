"""Consent documents: each rendered PDF is immutable, hashed, and bound to the inputs it shows.

A document's ``inputs_hash`` covers the template version, the language and every input the
form prints (regimen, evidence snapshots, pathway, identity, hospital). When the request
changes, the current inputs no longer hash the same: the older document is superseded and
cannot be signed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from offlabel.rendering import RenderedDocument


class Language(models.TextChoices):
    IT = "it", "Italiano"
    EN = "en", "English"
    FR = "fr", "Français"


class ConsentDocument(RenderedDocument):
    """One rendered consent form (status, file, hash, attempts: ``RenderedDocument``)."""

    RENDER_TASK = "consent.tasks.consent_render_task"

    request = models.ForeignKey(
        "prescriptions.OffLabelRequest", on_delete=models.PROTECT, related_name="consents"
    )
    language = models.CharField(max_length=2, choices=Language.choices)
    template_version = models.CharField(max_length=40)
    inputs = models.JSONField(
        help_text=_(
            "Everything the form prints, frozen when requested; the patient's identity only as "
            "a reference and a hash (the name is read when the PDF is rendered)."
        )
    )
    inputs_hash = models.CharField(max_length=64)
    file = models.FileField(upload_to="consent/%Y/%m/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # The same inputs in the same language are one document: never rendered twice.
            models.UniqueConstraint(
                fields=["request", "language", "inputs_hash"], name="consent_inputs_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} ({self.get_language_display()})"

    @property
    def document_id(self) -> str:
        return f"CONS-{self.request_id:06d}-{self.pk:04d}-{self.language.upper()}"


class ConsentSignature(models.Model):
    class Method(models.TextChoices):
        WET_INK_SCAN = "wet_ink_scan", _("Signed on paper, scan uploaded")
        ON_SCREEN = "on_screen", _("Signed on screen in the presence of the physician")

    class Signer(models.TextChoices):
        PATIENT = "patient", _("Patient")
        REPRESENTATIVE = "representative", _("Legal representative")

    document = models.OneToOneField(
        ConsentDocument, on_delete=models.PROTECT, related_name="signature"
    )
    method = models.CharField(max_length=14, choices=Method.choices)
    signer = models.CharField(max_length=14, choices=Signer.choices, default=Signer.PATIENT)
    representative_name = models.CharField(max_length=200, blank=True)
    witness_name = models.CharField(max_length=200, blank=True)
    signed_at = models.DateTimeField()
    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    scan = models.FileField(upload_to="consent-signed/%Y/%m/", blank=True)
    scan_sha256 = models.CharField(max_length=64, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    withdrawal_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(method="on_screen") | ~Q(scan_sha256=""), name="consent_scan_has_hash"
            ),
            models.CheckConstraint(
                condition=Q(signer="patient") | ~Q(representative_name=""),
                name="consent_representative_named",
            ),
        ]

    def __str__(self) -> str:
        return f"signature of {self.document}"


class ConsentSignatureRecord(RenderedDocument):
    """The sealed signed record of one consent signature (issue 16): a PDF/A-3b page that
    binds the signature to the form it signs — the form's document ID and SHA-256, who signed
    and how, the witness, the time, the scan's SHA-256 and the signature's meaning — with the
    form (and the scan) embedded as attachments; sealed like every PDF."""

    RENDER_TASK = "consent.tasks.consent_signature_record_render_task"

    signature = models.OneToOneField(
        ConsentSignature, on_delete=models.PROTECT, related_name="record"
    )
    file = models.FileField(upload_to="consent-records/%Y/%m/", blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.document_id} ({self.get_status_display()})"

    @property
    def document_id(self) -> str:
        return f"{self.signature.document.document_id}-SIGNED"
