from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class VerifyForm(forms.Form):
    """A sealed PDF, or its document ID and SHA-256: one of the two."""

    file = forms.FileField(label=_("The PDF file"), required=False)
    document_id = forms.CharField(label=_("Document ID"), max_length=60, required=False)
    sha256 = forms.CharField(label=_("SHA-256 of the file"), max_length=80, required=False)

    def clean_file(self) -> bytes | None:
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than the upload limit."))
        data: bytes = upload.read()
        if not data.startswith(b"%PDF-"):
            raise forms.ValidationError(_("This is not a PDF file."))
        return data

    def clean_sha256(self) -> str:
        value = re.sub(r"\s+", "", self.cleaned_data.get("sha256") or "").lower()
        if value and not SHA256.match(value):
            raise forms.ValidationError(_("A SHA-256 is 64 hexadecimal characters."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        by_file = data.get("file") is not None
        by_id = bool(data.get("document_id", "").strip() and data.get("sha256"))
        if not self.errors and by_file == by_id:
            raise forms.ValidationError(
                _("Upload the PDF, or enter its document ID and its SHA-256 (not both).")
            )
        return data
