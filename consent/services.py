"""Consent: freeze the inputs, render (Celery, WeasyPrint, PDF/A), sign, withdraw, download.

Every render, download, signature and withdrawal is an audit event. The inputs hold the
patient's identity only as a reference and a hash (``identity_sha256``): the name and the date
of birth stay in ``PatientIdentity`` and are read when the PDF is rendered. A changed name
changes the hash, so the form is superseded like any other changed input.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role, roles_of
from audit.actions import AuditAction
from audit.services import audit_record
from consent.models import ConsentDocument, ConsentSignature, ConsentSignatureRecord, Language
from evidence.models import DESIGN_LEVEL
from offlabel.exceptions import ApplicationError, ConflictError
from offlabel.i18n import english
from offlabel.rendering import render_enqueue
from offlabel.uploads import pdf_validate
from pharmacy.safety import steps_text_plain
from pharmacy.selectors import plan_context
from pharmacy.services import plan_version_created_register
from prescriptions.models import OffLabelRequest, PatientIdentity
from prescriptions.policies import request_lock_for_change, require_same_hospital
from prescriptions.selectors import decimal_plain, evidence_summary
from prescriptions.services import inputs_changed_register, request_transition
from signing.documents import pdf_render_once

TEMPLATE = "consent/consent.html"
DECIMAL_COMMA = {"it", "fr"}


def localised_number(value: object, language: str) -> str:
    """47.9 in English, 47,9 in Italian and French."""
    text = str(value)
    return text.replace(".", ",") if language in DECIMAL_COMMA else text


# Which reported adverse events feed which risk paragraph, tried in this order (a death from
# an infection is a death first). Deaths come from the event's wording or a grade 5.
RISK_KEYWORDS = {
    "death": ("mortality", "death", "fatal"),
    "febrile_neutropenia": ("febrile neutropenia", "neutropenic fever"),
    "neutropenia": ("neutropenia",),
    "infections": ("infection", "pneumonia", "sepsis", "bacteremia"),
    "thrombocytopenia": ("thrombocytopenia",),
    "anaemia": ("anemia", "anaemia"),
    "tumour_lysis": ("tumor lysis", "tumour lysis"),
    "heart_failure": ("heart failure", "cardiac failure"),
    "bleeding": ("bleeding", "hemorrhage", "haemorrhage"),
    "nausea_diarrhoea": ("nausea", "diarrhea", "diarrhoea", "vomiting"),
}
# A comparator arm's figures (chemotherapy without venetoclax) are not this treatment's risks.
NOT_THIS_TREATMENT = ("comparator", "no ven")
_MORTALITY_DAYS = re.compile(r"(\d+)-day mortality")


class ConsentSettingMissing(ApplicationError):
    """A hospital setting that every consent form prints is not filled in."""


def template_version(language: str) -> str:
    from consent.wording import template_version

    return template_version(language)


def _risk_key(event: str, grade: str = "") -> str | None:
    text = event.lower()
    if any(w in text for w in NOT_THIS_TREATMENT):
        return None
    if grade == "5":
        return "death"
    for key, words in RISK_KEYWORDS.items():
        if any(w in text for w in words):
            if key == "neutropenia" and "febrile" in text:
                continue
            return key
    return None


def _death_kind(event: str, grade: str) -> tuple[str, int | None]:
    """Which kind of death figure the study reports, so each language can name it."""
    text = event.lower()
    days = _MORTALITY_DAYS.search(text)
    if days:
        return "mortality_days", int(days.group(1))
    if "treatment-related" in text:
        return "treatment_related", None
    if grade == "5" or "fatal" in text:
        return "fatal_grade5", None
    if "discontinuation" in text:
        return "death_during_treatment", None
    return "death_other", None


def _study_risks(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """The attached study's own safety figures, each with its grade and population.

    A figure is printed only as the study states it: a percent, or, for a grade 5 (fatal) event
    reported as a count, that count. Nothing is computed from them."""
    label = f"{snap.get('first_author')} {snap.get('year') or ''}".strip()
    risks = []
    for s in snap.get("safety", []):
        event, grade = s.get("event", ""), (s.get("grade") or "").strip()
        key = _risk_key(event, grade)
        if key is None:
            continue
        entry: dict[str, Any] = {
            "risk": key,
            "percent": s.get("percent"),
            "study": label,
            "population": snap.get("n_patients"),
            "event": event,
            "grade": grade,
        }
        if key == "death":
            entry["kind"], entry["days"] = _death_kind(event, grade)
            if s.get("percent") is None:
                if entry["kind"] != "fatal_grade5" or s.get("n") is None:
                    continue
                entry["n"] = s["n"]
        elif s.get("percent") is None:
            continue
        risks.append(entry)
    return risks


def consent_contact_24h(request: OffLabelRequest) -> str:
    """The prescriber's department's own 24-hour number, else the hospital's."""
    department = request.prescriber.department
    if department is not None and department.emergency_phone_24h.strip():
        return department.emergency_phone_24h.strip()
    return request.hospital.emergency_phone_24h.strip()


def consent_settings_missing(inputs: dict[str, Any]) -> None:
    """Refuse a form that would leave the patient without a night number or a DPO contact."""
    missing = []
    if not inputs.get("contact_24h"):
        missing.append(gettext("“24-hour contact telephone” (hospital or department)"))
    if not (inputs.get("data_protection") or {}).get("dpo"):
        missing.append(gettext("“data protection officer contact” (hospital)"))
    if missing:
        raise ConsentSettingMissing(
            gettext(
                "The consent form cannot be prepared: fill in the setting %(settings)s in the "
                "hospital settings (administration, Hospitals) first."
            )
            % {"settings": "; ".join(missing)},
            extra={"field": "hospital"},
        )


def identity_printed(identity: PatientIdentity | None) -> dict[str, str]:
    """The patient's name and date of birth as the form prints them."""
    if identity is None:
        return {"name": "", "date_of_birth": ""}
    return {
        "name": f"{identity.given_name} {identity.family_name}",
        "date_of_birth": identity.date_of_birth.isoformat() if identity.date_of_birth else "",
    }


def identity_sha256(identity: PatientIdentity | None) -> str:
    """What the form's inputs keep of the identity: the hash of the record and of what is
    printed from it (consent/migrations/0002 computes the same for the older rows)."""
    printed = identity_printed(identity)
    payload = json.dumps(
        {"identity": identity.pk if identity else None, **printed},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def consent_inputs(request: OffLabelRequest, language: str) -> dict[str, Any]:
    """Everything the form prints, as plain data (the same inputs hash the same)."""
    if language not in Language.values:
        raise ApplicationError(
            gettext("Consent forms exist in Italian, English and French, not %(language)s.")
            % {"language": repr(language)},
            extra={"field": "language"},
        )
    identity = PatientIdentity.objects.filter(patient=request.patient).first()
    summary = evidence_summary(request)
    choice = getattr(request, "pathway_choice", None)
    # The schedule is the treatment plan's, the one every surface reads: a plan whose doses
    # change no longer hashes the same, and the form is superseded.
    planned = plan_context(request)
    plan = planned.plan
    schedule = [decimal_plain(d) for d in plan.schedule_mg] if plan else []
    risks: list[dict[str, Any]] = []
    levels = []
    for a in request.attachments.all().order_by("pk"):
        snap = a.snapshot
        levels.append(DESIGN_LEVEL.get(snap.get("design", ""), 0))
        risks.extend(_study_risks(snap))
    hospital = request.hospital
    return {
        "language": language,
        "hospital": request.hospital.name,
        "reference": request.reference,
        "drug": request.drug.name,
        "indication": request.indication,
        "patient": {
            # A reference and a hash, never the name or the date of birth in clear.
            "identity": identity.pk if identity else None,
            "identity_sha256": identity_sha256(identity),
            "pseudonym": request.patient.pseudonym,
        },
        "physician": request.prescriber.get_full_name() or request.prescriber.get_username(),
        # The clinical rationale is written for colleagues and never printed here.
        "lay_summary": request.lay_summary.strip(),
        "contact_24h": consent_contact_24h(request),
        "data_protection": {
            "country": hospital.country.upper(),
            "controller": hospital.data_controller.strip() or hospital.name,
            "dpo": hospital.dpo_contact.strip(),
            "retention_years": hospital.records_retention_years,
        },
        "partner": request.regimen or "other",
        "partner_other": request.regimen_other,
        "dose_mg": decimal_plain(plan.steady_mg) if plan and plan.steady_mg is not None else "",
        "ramp_up": schedule if len(schedule) > 1 else [],
        "ven_days": [c.ven_days for c in plan.cycles] if plan else [],
        "cycle_doses": [steps_text_plain(c.doses) for c in plan.cycles] if plan else [],
        "cycles": request.cycles_planned,
        "cycle_days": request.cycle_length_days,
        "pathway": choice.pathway_version.pathway.code if choice else "generic",
        "pathway_version": choice.pathway_version.version if choice else None,
        "evidence": {
            # R/R, VEN-treated figures only: the studies and patients behind the ORR range.
            "n_studies": summary.rr.orr.n_studies,
            "n_patients": summary.rr.orr.n_patients,
            "orr_low": decimal_plain(summary.orr_range[0]) if summary.orr_range else None,
            "orr_high": decimal_plain(summary.orr_range[1]) if summary.orr_range else None,
            "design_level": max(levels) if levels else None,
        },
        "risks": risks,
    }


def inputs_hash(inputs: dict[str, Any], version: str) -> str:
    payload = json.dumps(
        {"template": version, "inputs": inputs}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _can_prepare(actor: User, request: OffLabelRequest) -> None:
    require_same_hospital(actor, request.hospital_id)
    roles = roles_of(actor)
    if Role.PHARMACIST in roles:
        return
    if Role.PHYSICIAN in roles and request.patient.treating_physicians.filter(pk=actor.pk).exists():
        return
    raise ApplicationError(
        gettext("Only the patient's treating physicians and the pharmacists prepare consent forms.")
    )


def consent_stale(request: OffLabelRequest) -> list[ConsentDocument]:
    """The documents not yet marked superseded whose inputs no longer match the request (a read:
    the request page shows them as out of date without writing)."""
    stale = []
    inputs: dict[str, dict[str, Any]] = {}  # computed only for languages with a live document
    for document in request.consents.exclude(
        status=ConsentDocument.Status.SUPERSEDED
    ).select_related("signature"):
        if document.language not in inputs:
            inputs[document.language] = consent_inputs(request, document.language)
        if document.inputs_hash != inputs_hash(inputs[document.language], _version_for(document)):
            stale.append(document)
    return stale


def consent_supersede_stale(request: OffLabelRequest) -> list[ConsentDocument]:
    """Mark every document whose inputs no longer match the request as superseded. Called by
    the writes that change the inputs (``inputs_changed``), never by a page view."""
    superseded = []
    for document in consent_stale(request):
        updated = (
            ConsentDocument.objects.filter(pk=document.pk)
            .exclude(status=ConsentDocument.Status.SUPERSEDED)
            .update(status=ConsentDocument.Status.SUPERSEDED, superseded_at=timezone.now())
        )
        if updated:
            superseded.append(document)
            audit_record(
                actor=None,
                action=AuditAction.CONSENT_SUPERSEDED,
                target=request,
                hospital=request.hospital,
                summary=f"{request.reference}: consent {document.document_id} superseded (the "
                "request, regimen, evidence, identity or the form's wording changed)",
                after={"document": document.pk},
            )
    return superseded


@inputs_changed_register
def _consent_inputs_changed(*, actor: User | None, request: OffLabelRequest) -> None:
    """A write changed what the forms print: the older forms are superseded in that write's
    transaction, so the request page only reads."""
    consent_supersede_stale(request)


# A new treatment plan version (a write the pharmacy records, such as the TLS precautions' first
# dose) changes the plan the forms print: the older forms are superseded in that write.
plan_version_created_register(consent_supersede_stale)


@transaction.atomic
def consent_request(*, actor: User, request: OffLabelRequest, language: str) -> ConsentDocument:
    """Queue the consent form for the current inputs (or return the existing one).

    When the task queue is down this raises ``BrokerUnavailable`` and the transaction (the
    document, its audit event) rolls back: the caller says so and asks again later."""
    # The request as it is now (a caller's copy may predate an edit), locked against a race.
    request = request_lock_for_change(actor, request, related=("patient", "hospital"))
    _can_prepare(actor, request)
    consent_supersede_stale(request)
    version = template_version(language)
    inputs = consent_inputs(request, language)
    if inputs["patient"]["identity"] is None:
        raise ApplicationError(
            gettext(
                "Record the patient's identifying data first: the consent form carries the name."
            )
        )
    consent_settings_missing(inputs)
    digest = inputs_hash(inputs, version)
    document, created = ConsentDocument.objects.get_or_create(
        request=request,
        language=language,
        inputs_hash=digest,
        defaults={"template_version": version, "inputs": inputs, "requested_by": actor},
    )
    if not created and document.status != ConsentDocument.Status.FAILED:
        return document  # the same inputs are never rendered twice
    if not created:
        # A retry: the inputs are recomputed (the same hash means the same content).
        ConsentDocument.objects.filter(pk=document.pk, status=ConsentDocument.Status.FAILED).update(
            status=ConsentDocument.Status.QUEUED, error="", inputs=inputs
        )
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_REQUESTED,
        target=request,
        summary=f"{request.reference}: consent form ({language}) queued",
        after={"document": document.pk, "language": language, "inputs_hash": digest},
    )
    render_enqueue(document)
    return document


def _grade_text(grade: str) -> str:
    """The study's grade qualifier as printed: "3-4" -> "3–4", ">=3" -> "≥ 3"."""
    return grade.replace(">=", "≥ ").replace("<=", "≤ ").replace("-", "–").strip()


def _risk_line(t: dict[str, str], names: dict[str, str], r: dict[str, Any], lang: str) -> str:
    from consent.wording import DEATH_EVENTS

    if r["risk"] == "death":
        event = DEATH_EVENTS[lang][r["kind"]].format(days=r.get("days"))
    else:
        event = names[r["risk"]].lower()
        if r.get("grade"):
            # Never "neutropenia 47%" for a grade 3–4 figure: the grade is the study's.
            event = t["risk_graded"].format(event=event, grade=_grade_text(r["grade"]))
    study = r["study"]
    if r.get("population"):
        study = t["study_population"].format(study=study, n=r["population"])
    if r.get("percent") is None:
        return t["risk_count"].format(study=study, event=event, n=r["n"])
    return t["risk_frequency"].format(
        study=study, event=event, percent=localised_number(r["percent"], lang)
    )


def consent_html(document: ConsentDocument) -> str:
    from consent.wording import (
        CONDITIONAL_RISKS,
        COSTS,
        DATA_PROTECTION_LAW,
        DATA_RECIPIENTS,
        INDICATION_PLAIN,
        LANGUAGES,
        PATHWAY_TEXTS,
        RISKS,
        SUPERVISORY_AUTHORITIES,
        TEXTS,
    )

    inputs = document.inputs
    consent_settings_missing(inputs)  # a form is never printed without them
    # The name and the date of birth are read now, from the one record that holds them; the
    # hash says they are still the ones the form was requested with.
    identity = PatientIdentity.objects.filter(pk=inputs["patient"].get("identity")).first()
    if identity is None or identity_sha256(identity) != inputs["patient"]["identity_sha256"]:
        raise ApplicationError(
            gettext(
                "The patient's identifying data changed after this form was requested: prepare "
                "the form again."
            )
        )
    inputs = {**inputs, "patient": {**inputs["patient"], **identity_printed(identity)}}
    lang = document.language
    t = TEXTS[lang]
    fmt = {
        # Capitalised: many sentences start with the medicine's name.
        "drug": inputs["drug"][:1].upper() + inputs["drug"][1:],
        "hospital": inputs["hospital"],
        "indication": INDICATION_PLAIN[lang].get(inputs["indication"], inputs["indication"]),
        "dose_mg": inputs["dose_mg"],
        "cycles": inputs["cycles"],
        "cycle_days": inputs["cycle_days"],
        "physician": inputs["physician"],
        "phone": inputs["contact_24h"],
    }
    partner = t.get(f"partner_{inputs['partner']}", t["partner_other"])
    evidence = inputs["evidence"]
    if evidence["orr_low"] is None:
        benefits = t["benefits_no_numbers"]
    elif evidence["n_studies"] == 1 or evidence["orr_low"] == evidence["orr_high"]:
        benefits = t["benefits_single"].format(
            n_patients=evidence["n_patients"], orr_low=localised_number(evidence["orr_low"], lang)
        )
    else:
        benefits = t["benefits_numbers"].format(
            n_studies=evidence["n_studies"],
            n_patients=evidence["n_patients"],
            orr_low=localised_number(evidence["orr_low"], lang),
            orr_high=localised_number(evidence["orr_high"], lang),
        )
    design_key = {3: "design_trial", 2: "design_retrospective", 1: "design_case_report"}.get(
        evidence["design_level"]
    )
    pathway_texts = PATHWAY_TEXTS[lang]
    names = {key: name for key, (name, _) in RISKS[lang].items()}
    reported = {r["risk"] for r in inputs["risks"]}
    data = inputs["data_protection"]
    country = data["country"] if data["country"] in SUPERVISORY_AUTHORITIES[lang] else "other"
    retention = (
        t["data_retention_years"].format(years=data["retention_years"])
        if data["retention_years"]
        else t["data_retention_law"]
    )
    recipients = DATA_RECIPIENTS[lang].get(inputs["pathway"], "")
    context = {
        "t": t,
        "document": document,
        "inputs": inputs,
        "language_name": LANGUAGES[lang],
        "subtitle": t["subtitle"].format(**fmt),
        "medicine_what": t["medicine_what"].format(**fmt),
        "medicine_offlabel": t["medicine_offlabel"].format(**fmt),
        "why_text": inputs["lay_summary"] or t["why_in_person"].format(**fmt),
        "regimen_text": t["regimen_text"].format(**fmt | {"partner": partner}),
        "ramp_days": [
            t["rampup_day"].format(day=i, dose_mg=d)
            for i, d in enumerate(inputs["ramp_up"], start=1)
        ],
        "food_interactions": t["food_interactions"].format(**fmt),
        "benefits": benefits,
        "benefits_design": t["benefits_design"].format(design=t[design_key]) if design_key else "",
        "risks": [
            (
                RISKS[lang][key],
                [_risk_line(t, names, r, lang) for r in inputs["risks"] if r["risk"] == key],
            )
            for key in RISKS[lang]
            # Heart failure and serious bleeding: where an attached study reports them.
            if key not in CONDITIONAL_RISKS or key in reported
        ],
        "risks_report": t["risks_report"].format(**fmt),
        "risks_reproduction": t["risks_reproduction"].format(**fmt),
        "pathway_text": pathway_texts.get(inputs["pathway"], pathway_texts["generic"]).format(
            **fmt
        ),
        "cost_text": COSTS[lang].get(inputs["pathway"], COSTS[lang]["generic"]).format(**fmt),
        "data_controller": t["data_controller"].format(
            controller=data["controller"], dpo=data["dpo"]
        ),
        "data_recipients": t["data_recipients"].format(recipients=recipients)
        if recipients
        else t["data_recipients_care"],
        "data_retention": retention,
        "data_purpose": t["data_purpose"].format(
            regulation=DATA_PROTECTION_LAW[lang]["GB" if data["country"] == "GB" else "other"]
        ),
        "data_authority": t["data_authority"].format(
            authority=SUPERVISORY_AUTHORITIES[lang][country]
        ),
        "contacts_text": t["contacts_text"].format(**fmt),
        "consent_lines": t["consent_statements"].format(**fmt).split("\n"),
    }
    return render_to_string(TEMPLATE, context)


def consent_render(document_id: int) -> ConsentDocument:
    """Render once: a ready document is left alone; a claim makes a rerun after a crash safe."""

    def stored(document: ConsentDocument) -> None:
        audit_record(
            actor=None,
            action=AuditAction.CONSENT_RENDERED,
            target=document.request,
            hospital=document.request.hospital,
            summary=f"{document.request.reference}: consent {document.document_id} rendered "
            f"({document.pages} pages)",
            after={"document": document.pk, "sha256": document.sha256},
        )

    return pdf_render_once(
        ConsentDocument.objects.select_related("request__hospital"),
        document_id,
        html=consent_html,
        filename=lambda document: f"{document.document_id}.pdf",
        on_stored=stored,
        pdf_variant="pdf/a-3b",
    )


def consent_download(*, actor: User, document: ConsentDocument) -> ConsentDocument:
    _can_prepare(actor, document.request)
    if not document.file or document.status not in (
        ConsentDocument.Status.READY,
        ConsentDocument.Status.SUPERSEDED,
    ):
        raise ApplicationError(gettext("The consent form is not rendered yet."))
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_DOWNLOADED,
        target=document.request,
        summary=f"{document.request.reference}: consent {document.document_id} downloaded",
        after={"document": document.pk},
    )
    return document


def consent_record_download(
    *, actor: User, record: ConsentSignatureRecord
) -> ConsentSignatureRecord:
    """The sealed signed record of a consent signature, for those who may see the form."""
    document = record.signature.document
    _can_prepare(actor, document.request)
    if not record.file or record.status != ConsentSignatureRecord.Status.READY:
        raise ApplicationError(gettext("The signed record is not sealed yet."))
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_RECORD_DOWNLOADED,
        target=document.request,
        summary=f"{document.request.reference}: signed record {record.document_id} downloaded",
        after={"document": document.pk, "record": record.pk},
    )
    return record


def _version_for(document: ConsentDocument) -> str:
    """A signed form stays bound to the wording the patient signed: a new wording supersedes only
    the forms not signed yet (a changed request still supersedes a signed one)."""
    if hasattr(document, "signature"):
        return document.template_version
    return template_version(document.language)


def _is_current(document: ConsentDocument) -> bool:
    return document.inputs_hash == inputs_hash(
        consent_inputs(document.request, document.language), _version_for(document)
    )


def consent_sign(*, document: ConsentDocument, **kwargs: Any) -> ConsentSignature:
    """Bind a signature to exactly one current, rendered version.

    A stale version is marked superseded first, in its own transaction, so the refusal leaves
    the record saying why."""
    document = ConsentDocument.objects.select_related("request").get(pk=document.pk)
    if document.status == ConsentDocument.Status.READY and not _is_current(document):
        with transaction.atomic():
            consent_supersede_stale(document.request)
    return _consent_sign(document=document, **kwargs)


@transaction.atomic
def _consent_sign(
    *,
    actor: User,
    document: ConsentDocument,
    method: str,
    signed_at: datetime | None = None,
    signer: str = "patient",
    representative_name: str = "",
    witness_name: str = "",
    scan: UploadedFile | None = None,
) -> ConsentSignature:
    document = (
        ConsentDocument.objects.select_for_update().select_related("request").get(pk=document.pk)
    )
    request = document.request
    require_same_hospital(actor, request.hospital_id)
    if not (
        actor.groups.filter(name=Role.PHYSICIAN).exists()
        and request.patient.treating_physicians.filter(pk=actor.pk).exists()
    ):
        raise ApplicationError(
            gettext("The signature is recorded by a treating physician of the patient.")
        )
    if document.status != ConsentDocument.Status.READY or not _is_current(document):
        raise ConflictError(
            gettext(
                "This version of the consent form is not current (the request changed, or it is "
                "not rendered yet): it cannot be signed. Prepare and sign the new version."
            )
        )
    if hasattr(document, "signature"):
        raise ConflictError(
            gettext("%(document)s is already signed.") % {"document": document.document_id}
        )
    signature = ConsentSignature(
        document=document,
        method=method,
        signer=signer,
        representative_name=representative_name.strip(),
        witness_name=witness_name.strip(),
        signed_at=signed_at or timezone.now(),
        physician=actor,
    )
    if method == ConsentSignature.Method.WET_INK_SCAN:
        if scan is None:
            raise ApplicationError(
                gettext("Upload the scan of the signed paper form (PDF)."), extra={"field": "scan"}
            )
        data = pdf_validate(scan, field="scan")
        signature.scan.save(f"{document.document_id}-signed.pdf", ContentFile(data), save=False)
        signature.scan_sha256 = hashlib.sha256(data).hexdigest()
    elif method != ConsentSignature.Method.ON_SCREEN:
        raise ApplicationError(
            gettext("Unknown signature method %(method)s.") % {"method": repr(method)},
            extra={"field": "method"},
        )
    signature.full_clean(exclude=["document", "physician"])
    signature.save()
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_SIGNED,
        target=request,
        summary=f"{request.reference}: consent {document.document_id} signed "
        f"({english(signature.get_method_display)})",
        after={
            "document": document.pk,
            "method": method,
            "scan_sha256": signature.scan_sha256,
            "document_sha256": document.sha256,
        },
    )
    # The sealed signed record (issue 16), queued on commit without the broker check: the
    # signature is recorded whatever the broker; the sweeper renders a record not queued.
    render_enqueue(ConsentSignatureRecord.objects.create(signature=signature), broker_check=False)
    return signature


@transaction.atomic
def consent_withdraw(*, actor: User, signature: ConsentSignature, reason: str) -> ConsentSignature:
    """Record the patient's withdrawal; a request being treated is suspended."""
    signature = (
        ConsentSignature.objects.select_for_update()
        .select_related("document__request")
        .get(pk=signature.pk)
    )
    request = signature.document.request
    require_same_hospital(actor, request.hospital_id)
    if not reason.strip():
        raise ApplicationError(
            gettext("Record what the patient said (the reason may be 'none given')."),
            extra={"field": "reason"},
        )
    if signature.withdrawn_at is not None:
        raise ConflictError(gettext("This consent was already withdrawn."))
    signature.withdrawn_at, signature.withdrawal_reason = timezone.now(), reason.strip()
    signature.withdrawal_recorded_by = actor
    signature.save(update_fields=["withdrawn_at", "withdrawal_reason", "withdrawal_recorded_by"])
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_WITHDRAWN,
        target=request,
        summary=f"{request.reference}: consent withdrawn — {reason.strip()}",
        after={"document": signature.document_id},
    )
    if request.status in OffLabelRequest.DISPENSABLE_STATES:
        request_transition(
            actor=actor,
            request=request,
            transition="suspend",
            reason=f"Consent withdrawn by the patient: {reason.strip()}",
        )
    return signature


def consent_is_signed(request: OffLabelRequest) -> bool:
    """A signed, not withdrawn consent on a document whose inputs are still current."""
    for signature in ConsentSignature.objects.filter(
        document__request=request, withdrawn_at=None
    ).select_related("document"):
        if signature.document.status == ConsentDocument.Status.READY and _is_current(
            signature.document
        ):
            return True
    return False
