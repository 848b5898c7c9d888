"""The register of sealed documents: what the public verification page looks up.

One row per sealed PDF: its public document ID, the SHA-256 of the sealed bytes, who sealed it
(the certificate's organisation and subject) and when (the trusted timestamp). It holds no
patient data and nothing of the content, so the page can answer a stranger holding a PDF.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SealedDocumentKind(models.TextChoices):
    CONSENT_FORM = "consent.consentdocument", _("Consent form")
    CONSENT_SIGNATURE_RECORD = "consent.consentsignaturerecord", _("Signed consent record")
    DOSSIER = "regulatory.dossier", _("Submission dossier")
    RENEWAL_REPORT = "followup.renewalreport", _("Renewal clinical report")
    REPORT_EXPORT = "reports.reportexport", _("Administration report")


class SealedDocument(models.Model):
    Kind = SealedDocumentKind

    document_id = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=40, choices=SealedDocumentKind.choices)
    # The rendered row (its model is the kind); for the hospital's own look-ups only.
    object_id = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, unique=True)
    sealer_name = models.CharField(max_length=300)
    certificate_subject = models.CharField(max_length=500)
    certificate_serial = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()
    timestamp_at = models.DateTimeField(help_text=_("The time the time-stamping authority gave."))

    class Meta:
        ordering = ["-sealed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="sealed_document_once"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} sealed by {self.sealer_name}"
