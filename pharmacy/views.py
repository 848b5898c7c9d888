"""Pages: a request's safety checks, TLS precautions and dispensing; prices; costs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from accounts.scoping import acting_user
from offlabel.exceptions import ApplicationError, ConflictError
from offlabel.forms import form_errors_text
from pharmacy.forms import (
    DispenseForm,
    DispenseLineFormSet,
    OverrideForm,
    PriceForm,
    TlsForm,
)
from pharmacy.models import TlsPrecautions
from pharmacy.plan import tablets_mg
from pharmacy.safety import safety_check, steps_text_plain
from pharmacy.selectors import (
    costs_by_payer,
    dispensations_of,
    dispensed_by_cycle,
    hospital_dispensations,
    plan_cost,
    plan_version_latest,
    prices_current,
    requests_with_costs,
)
from pharmacy.services import (
    LineInput,
    dispensation_create,
    dispense_next_cycle,
    dispense_remaining,
    drug_price_add,
    payer_default,
    safety_override_create,
    tls_precautions_set,
)
from prescriptions.models import DrugPrice, OffLabelRequest
from prescriptions.policies import request_get_visible
from prescriptions.selectors import decimal_plain
from prescriptions.services import drug_default
from prescriptions.workflow import transitions_available
from signatures.http import signature_for_page
from signatures.models import SignatureAction
from signatures.services import act_meaning, signature_scope

VIEW_REQUEST = "prescriptions.view_offlabelrequest"


def _next_cycle_forms(offlabel: OffLabelRequest, plan: Any) -> dict[str, Any]:
    if offlabel.status not in OffLabelRequest.DISPENSABLE_STATES:
        return {}
    if plan is None:
        return {}
    number = dispense_next_cycle(offlabel, plan)
    cycle = plan.cycle(number)
    if cycle is None:
        return {}
    remaining = dispense_remaining(offlabel, plan, number)
    expiry_default = timezone.localdate() + timedelta(days=180)
    window = offlabel.hospital.dispense_early_window_days
    return {
        "next_cycle": cycle,
        "next_remaining": remaining,
        "next_remaining_mg": tablets_mg(remaining),
        "next_earliest": cycle.earliest_dispense_on(window),
        "early_window": window,
        "dispense_form": DispenseForm(
            initial={"cycle": number, "payer": payer_default(offlabel)[0]}
        ),
        # Pre-filled with the plan's strengths and quantities (what is still due).
        "line_formset": DispenseLineFormSet(
            prefix="lines",
            initial=[
                {"strength_mg": decimal_plain(s), "quantity": n, "expiry": expiry_default}
                for s, n in remaining.items()
            ],
        ),
        "payer_source": payer_default(offlabel)[1],
    }


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def request_pharmacy_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    user = acting_user(request)
    is_pharmacist = user.has_role(Role.PHARMACIST)
    report = safety_check(offlabel)
    dispensations = list(dispensations_of(offlabel))
    tls = report.tls
    plan = report.plan
    given = dispensed_by_cycle(offlabel)
    window = offlabel.hospital.dispense_early_window_days
    cycles = [
        {
            "cycle": c,
            "doses": steps_text_plain(c.doses),
            "dispensed_mg": tablets_mg(given.get(c.number, {})),
            "earliest": c.earliest_dispense_on(window),
        }
        for c in (plan.cycles if plan else [])
    ]
    context = {
        "offlabel": offlabel,
        "patient": offlabel.patient,
        "report": report,
        "override_form": OverrideForm(),
        "tls_form": TlsForm(instance=tls or TlsPrecautions(request=offlabel)),
        "plan": plan,
        "plan_cost": plan_cost(offlabel, plan) if plan else None,
        "plan_version": plan_version_latest(offlabel),
        "cycles": cycles,
        "dispensations": dispensations,
        "costs": costs_by_payer(dispensations_of(offlabel)),
        "prices": prices_current(offlabel),
        "is_pharmacist": is_pharmacist,
        # Approve, request changes...: the request's own transitions (one workflow), taken here
        # beside the findings; the page comes back here afterwards.
        "actions": transitions_available(offlabel, user) if is_pharmacist else [],
        **_next_cycle_forms(offlabel, plan),
    }
    return render(request, "pharmacy/request.html", context)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def override_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    form = OverrideForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            messages.error(request, _("Give the reason for the override (at least 10 characters)."))
        else:
            try:
                safety_override_create(
                    actor=acting_user(request),
                    request=offlabel,
                    fingerprint=form.cleaned_data["fingerprint"],
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, _("Override recorded with your reason."))
            except (ApplicationError, ConflictError) as exc:
                messages.error(request, exc.message)
    return redirect("pharmacy:request", pk=pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def tls_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    if request.method != "POST":
        return redirect("pharmacy:request", pk=pk)
    form = TlsForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("pharmacy:request", pk=pk)
    try:
        tls_precautions_set(actor=acting_user(request), request=offlabel, fields=form.cleaned_data)
        messages.success(request, _("TLS precautions recorded; the laboratory times are below."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("pharmacy:request", pk=pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def dispense_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    if request.method != "POST":
        return redirect("pharmacy:request", pk=pk)
    form = DispenseForm(request.POST)
    lines = DispenseLineFormSet(request.POST, prefix="lines")
    if not (form.is_valid() and lines.is_valid()):
        problems = [form_errors_text(form)] if form.errors else []
        problems += [
            _("line %(number)s: %(problems)s") % {"number": i, "problems": form_errors_text(f)}
            for i, f in enumerate(lines.forms, 1)
            if f.errors
        ]
        problems += [str(e) for e in lines.non_form_errors()]
        messages.error(
            request, _("Not dispensed: %(problems)s") % {"problems": "; ".join(problems)}
        )
        return redirect("pharmacy:request", pk=pk)
    user = acting_user(request)
    # Dispensing is an electronic signature (issue 16): "dispensed cycle 2".
    meaning = act_meaning(SignatureAction.DISPENSE, user, cycle=form.cleaned_data["cycle"])
    proof = signature_for_page(request, meaning)
    if isinstance(proof, HttpResponse):
        return proof
    try:
        with signature_scope(
            signer=user, proof=proof, meaning=meaning, request=offlabel
        ) as signing:
            dispensation = dispensation_create(
                actor=user,
                request=offlabel,
                cycle=form.cleaned_data["cycle"],
                payer=form.cleaned_data["payer"],
                note=form.cleaned_data["note"],
                lines=[LineInput(**line) for line in lines.cleaned_data if line],
            )
            signing.target = dispensation
        messages.success(request, _("Cycle %(cycle)s dispensed.") % {"cycle": dispensation.cycle})
    except (ApplicationError, ConflictError) as exc:
        messages.error(request, _("Not dispensed: %(problems)s") % {"problems": exc.message})
    return redirect("pharmacy:request", pk=pk)


@login_required
@permission_required("prescriptions.view_drugprice", raise_exception=True)
def prices_view(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = PriceForm(request.POST or None, initial={"valid_from": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            drug_price_add(actor=user, drug=drug_default(), **form.cleaned_data)
            messages.success(request, _("Price recorded."))
            return redirect("pharmacy:prices")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    prices = DrugPrice.objects.filter(hospital=user.hospital).select_related("drug", "entered_by")
    page = Paginator(prices, 25).get_page(request.GET.get("page"))
    return render(request, "pharmacy/prices.html", {"form": form, "page": page})


@login_required
@permission_required("pharmacy.view_dispensation", raise_exception=True)
def costs_view(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if user.hospital is None:
        return render(request, "pharmacy/costs.html", {"by_payer": [], "page": None})
    rows = requests_with_costs(user.hospital)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    context = {"by_payer": costs_by_payer(hospital_dispensations(user.hospital)), "page": page}
    return render(request, "pharmacy/costs.html", context)
