"""The public verification page (/verify/): no sign-in, rate limited per client address.

Someone holding a PDF — a regulator, the patient — uploads it, or enters its document ID and
SHA-256, and learns whether it is intact, who sealed it and when. Nothing else: not the kind
of document, not the request, not the patient; an unknown ID and a wrong hash get the same
answer, so the page cannot be used to learn which IDs exist.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from offlabel.middleware import client_ip_address
from offlabel.rendering import RenderStatus
from signing.forms import VerifyForm
from signing.models import SealedDocument
from signing.pades import pdf_seal_verify


def _client_key(group: str, request: HttpRequest) -> str:
    return client_ip_address(request) or "unknown"


def _rate(group: str, request: HttpRequest) -> str:
    rate: str = settings.SEAL_VERIFY_RATE
    return rate


@require_http_methods(["GET", "POST"])
@ratelimit(key=_client_key, rate=_rate, method="POST", block=False)
def verify_view(request: HttpRequest) -> HttpResponse:
    if getattr(request, "limited", False):
        return render(
            request, "signing/verify.html", {"form": VerifyForm(), "limited": True}, status=429
        )
    result: dict[str, Any] | None = None
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            result = _check(form.cleaned_data)
    else:
        form = VerifyForm()
    return render(request, "signing/verify.html", {"form": form, "result": result})


def _check(data: dict[str, Any]) -> dict[str, Any]:
    pdf: bytes | None = data.get("file")
    if pdf is not None:
        verdict = pdf_seal_verify(pdf)
        entry = SealedDocument.objects.filter(sha256=hashlib.sha256(pdf).hexdigest()).first()
        if verdict.valid:
            return {
                "by": "file",
                "intact": True,
                "sealer_name": verdict.sealer_name,
                "sealed_at": verdict.timestamp_at,
                "document_id": entry.document_id if entry else "",
            }
        return {"by": "file", "intact": False, "sealed": verdict.sealed}
    entry = SealedDocument.objects.filter(
        document_id=data["document_id"].strip(), sha256=data["sha256"]
    ).first()
    if entry is None:
        return {"by": "id", "match": False}
    return {
        "by": "id",
        "match": True,
        "document_id": entry.document_id,
        "sealer_name": entry.sealer_name,
        "sealed_at": entry.timestamp_at,
    }


def awaiting_timestamp_response(request: HttpRequest, document_id: str = "") -> HttpResponse:
    """What a download answers for a document rendered but not sealed yet: the bytes are never
    served unsealed (409, the page says why and that it will be sealed)."""
    return render(
        request,
        "signing/awaiting_timestamp.html",
        {"document_id": document_id},
        status=409,
    )


def refuses_unsealed(row: Any) -> bool:
    return bool(row.status == RenderStatus.AWAITING_TIMESTAMP)
