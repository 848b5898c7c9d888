"""Consent panel on the request page: prepare, poll (htmx), download, sign, withdraw, retry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.scoping import acting_user
from consent.models import ConsentDocument, ConsentSignature, ConsentSignatureRecord
from consent.selectors import consent_panel_context
from consent.services import (
    consent_download,
    consent_record_download,
    consent_request,
    consent_sign,
    consent_withdraw,
)
from offlabel.exceptions import ApplicationError
from prescriptions.policies import request_get_visible, requests_visible_to
from signatures.http import signature_for_page
from signatures.models import SignatureAction
from signatures.services import act_meaning, consent_signature_meaning, signature_scope
from signing.views import awaiting_timestamp_response, refuses_unsealed

VIEW_REQUEST = "prescriptions.view_offlabelrequest"


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def consent_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel alone: htmx polls it while a PDF is queued or rendering."""
    return render(
        request, "consent/_panel.html", consent_panel_context(request_get_visible(request.user, pk))
    )


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def consent_prepare_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    if request.method == "POST":
        try:
            consent_request(
                actor=acting_user(request),
                request=offlabel,
                language=request.POST.get("language", ""),
            )
            messages.success(
                request, _("The consent form is being prepared; this page updates by itself.")
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect(f"/requests/{pk}/#consent")


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def consent_download_view(request: HttpRequest, document_id: int) -> HttpResponseBase:
    document = get_object_or_404(
        ConsentDocument.objects.filter(request__in=requests_visible_to(request.user)),
        pk=document_id,
    )
    if refuses_unsealed(document):  # issue 16: never served unsealed
        return awaiting_timestamp_response(request, document.document_id)
    try:
        consent_download(actor=acting_user(request), document=document)
    except ApplicationError:
        raise Http404 from None
    return FileResponse(
        document.file.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{document.document_id}.pdf",
    )


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def consent_record_download_view(request: HttpRequest, signature_id: int) -> HttpResponseBase:
    """The sealed signed record (issue 16): the signature bound to the form's hash."""
    record = get_object_or_404(
        ConsentSignatureRecord.objects.select_related("signature__document__request").filter(
            signature__document__request__in=requests_visible_to(request.user)
        ),
        signature_id=signature_id,
    )
    if refuses_unsealed(record):
        return awaiting_timestamp_response(request, record.document_id)
    try:
        consent_record_download(actor=acting_user(request), record=record)
    except ApplicationError:
        raise Http404 from None
    return FileResponse(
        record.file.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{record.document_id}.pdf",
    )


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def consent_sign_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = get_object_or_404(
        ConsentDocument.objects.filter(request__in=requests_visible_to(request.user)),
        pk=document_id,
    )
    if request.method == "POST":
        user = acting_user(request)
        # Recording the patient's signature is the physician's electronic signature (issue 16).
        meaning = consent_signature_meaning(
            user,
            method=request.POST.get("method", ""),
            signer=request.POST.get("signer", "patient"),
            representative_name=request.POST.get("representative_name", ""),
            witness_name=request.POST.get("witness_name", ""),
        )
        proof = signature_for_page(request, meaning)
        if isinstance(proof, HttpResponse):
            return proof
        try:
            with signature_scope(
                signer=user, proof=proof, meaning=meaning, request=document.request
            ) as signing:
                signing.target = consent_sign(
                    actor=user,
                    document=document,
                    method=request.POST.get("method", ""),
                    signer=request.POST.get("signer", "patient"),
                    representative_name=request.POST.get("representative_name", ""),
                    witness_name=request.POST.get("witness_name", ""),
                    scan=request.FILES.get("scan"),
                )
            messages.success(
                request,
                _("Signature recorded on %(document)s.") % {"document": document.document_id},
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect(f"/requests/{document.request_id}/#consent")


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def consent_withdraw_view(request: HttpRequest, signature_id: int) -> HttpResponse:
    signature = get_object_or_404(
        ConsentSignature.objects.filter(document__request__in=requests_visible_to(request.user)),
        pk=signature_id,
    )
    if request.method == "POST":
        user = acting_user(request)
        meaning = act_meaning(SignatureAction.CONSENT_WITHDRAWAL, user)
        proof = signature_for_page(request, meaning)
        if isinstance(proof, HttpResponse):
            return proof
        try:
            with signature_scope(
                signer=user, proof=proof, meaning=meaning, request=signature.document.request
            ) as signing:
                signing.target = consent_withdraw(
                    actor=user,
                    signature=signature,
                    reason=request.POST.get("reason", ""),
                )
            messages.warning(request, _("Withdrawal of consent recorded."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect(f"/requests/{signature.document.request_id}/#consent")
