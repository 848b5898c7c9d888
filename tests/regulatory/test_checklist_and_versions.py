"""Checklists gate approval item by item; editing a rule makes a new version that existing
checklists do not follow."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEvent
from offlabel.exceptions import ApplicationError
from prescriptions.services import request_transition
from regulatory.loader import rules_load
from regulatory.models import ChecklistItem, Pathway
from regulatory.services import (
    NationalRulesRefused,
    application_create,
    application_step,
    checklist_attest,
    checklist_unmet,
    checklist_upload,
    pathway_choose,
    pathway_version_edit,
)
from tests.prescriptions.conftest import MINIMAL_PDF
from tests.regulatory.conftest import LISTING_648


def _pdf(name="opinion.pdf", data=MINIMAL_PDF):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def test_law_648_approval_is_refused_item_by_item_until_everything_holds(
    make_request, physician, pharmacist
):
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    request_transition(actor=physician, request=request, transition="submit")
    request_transition(actor=pharmacist, request=request, transition="start_review")
    request_transition(actor=pharmacist, request=request, transition="send_for_authorisation")

    # The signed consent (Provvedimento 20-7-2000 art. 5) is checked from the record: it stays
    # open until the consent is signed, below.
    consent_text = request.checklist.get(code="consent_signed", required=True).text
    required = list(
        request.checklist.filter(required=True).exclude(kind="automatic").order_by("order")
    )
    assert required, "the 648 checklist has required items"
    for done, item in enumerate(required):
        with pytest.raises(ApplicationError) as refused:
            request_transition(actor=pharmacist, request=request, transition="approve", reason="ok")
        for pending in required[done:]:
            assert pending.text in refused.value.message  # every open item is named
        for closed in required[:done]:
            assert closed.text not in refused.value.message
        if item.kind == "attestation":
            actor = physician if "physician" in item.attesters else pharmacist
            checklist_attest(actor=actor, item=item, note="checked")
        elif item.kind == "document":
            checklist_upload(actor=pharmacist, item=item, upload=_pdf())
    assert [u.startswith(consent_text) for u in checklist_unmet(request)] == [True]
    # Still refused: no signed consent yet, and AIFA registry enrolment is not granted yet.
    from consent.services import consent_render, consent_request, consent_sign
    from prescriptions.services import patient_identity_set
    from tests.prescriptions.conftest import IDENTITY

    with pytest.raises(ApplicationError, match="no signed consent"):
        request_transition(actor=pharmacist, request=request, transition="approve", reason="ok")
    patient_identity_set(actor=physician, patient=request.patient, identity=IDENTITY)
    form = consent_render(consent_request(actor=physician, request=request, language="it").pk)
    consent_sign(actor=physician, document=form, method="on_screen")
    assert checklist_unmet(request) == []
    with pytest.raises(ApplicationError, match="not recorded as granted"):
        request_transition(actor=pharmacist, request=request, transition="approve", reason="ok")
    today = timezone.localdate()
    application = application_create(
        actor=pharmacist,
        request=request,
        body="aifa_registry",
        prepared_at=today,
        protocol_number="REG-INVENTED-1",
    )
    for step in ("submit", "acknowledge"):
        application_step(actor=pharmacist, application=application, step=step, on=today)
    application_step(
        actor=pharmacist,
        application=application,
        step="grant",
        on=today,
        valid_until=today + timedelta(days=365),
        note="enrolled (invented)",
    )
    approved = request_transition(
        actor=pharmacist, request=request, transition="approve", reason="648 met"
    )
    assert approved.status == "approved"
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    for action in (
        "checklist.attested",
        "checklist.document_uploaded",
        "application.created",
        "application.submit",
        "application.acknowledge",
        "application.grant",
        "request.approve",
    ):
        assert action in actions


def test_only_the_named_attesters_may_attest(make_request, physician, pharmacist, hospital_admin):
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    item = next(
        i for i in request.checklist.filter(kind="attestation") if "pharmacist" not in i.attesters
    )
    with pytest.raises(ApplicationError, match="Only a"):
        checklist_attest(actor=pharmacist, item=item)
    with pytest.raises(ApplicationError, match="Only a"):
        checklist_attest(actor=hospital_admin, item=item)
    checklist_attest(actor=physician, item=item, note="I take responsibility")
    item.refresh_from_db()
    assert item.attested_by == physician and item.note == "I take responsibility"


def test_uploads_must_be_real_pdfs_within_the_size_limit(make_request, physician, pharmacist):
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    item = request.checklist.filter(kind="document").first()
    with pytest.raises(ApplicationError, match="not a PDF"):
        checklist_upload(
            actor=pharmacist, item=item, upload=_pdf("letter.pdf", b"hello, not a pdf")
        )
    with pytest.raises(ApplicationError, match="not a PDF"):
        checklist_upload(actor=pharmacist, item=item, upload=_pdf("letter.docx"))
    big = MINIMAL_PDF[:-6] + b" " * (10 * 1024 * 1024) + b"%%EOF\n"
    with pytest.raises(ApplicationError, match=r"limit is 10 MB|larger than 10 MB"):
        checklist_upload(actor=pharmacist, item=item, upload=_pdf("big.pdf", big))
    checklist_upload(actor=pharmacist, item=item, upload=_pdf())
    item.refresh_from_db()
    assert item.document and len(item.document_sha256) == 64


def test_editing_a_rule_makes_a_new_version_and_existing_checklists_keep_theirs(
    make_request, physician, rule_steward
):
    request = make_request({**LISTING_648, "prior_azacitidine": "yes"})
    pathway_choose(actor=physician, request=request, pathway_code="it_law_94_98")
    before = list(request.checklist.values_list("code", "text", "pathway_version__version"))
    pathway = Pathway.objects.get(code="it_law_94_98")
    current = pathway.current_version()
    new_item = {
        "code": "new_regional_form",
        "text": "Regional off-label form filed (invented for a test)",
        "kind": "attestation",
        "required": True,
        "attesters": ["pharmacist"],
    }
    edited = pathway_version_edit(
        actor=rule_steward,
        pathway=pathway,
        changes={"checklist": [*current.checklist, new_item]},
        change_note="Regional form added after the 2026 circular (test)",
    )
    assert edited.version == current.version + 1 and edited.is_current
    current.refresh_from_db()
    assert not current.is_current
    assert list(request.checklist.values_list("code", "text", "pathway_version__version")) == before
    other = make_request({**LISTING_648, "prior_azacitidine": "yes"})
    pathway_choose(actor=physician, request=other, pathway_code="it_law_94_98")
    assert other.checklist.filter(code="new_regional_form", pathway_version=edited).exists()
    assert AuditEvent.objects.filter(action="pathway.version_created").count() == 1
    # Reloading the unchanged data file does not overwrite the officer's version.
    report = rules_load()
    assert "it_law_94_98" in report.unchanged
    assert Pathway.objects.get(code="it_law_94_98").current_version() == edited


def test_only_national_rules_stewards_edit_rules_and_must_say_why(
    physician, officer, rule_steward, rules
):
    # Issue 14: a hospital's regulatory officer no longer edits the national rules.
    pathway = Pathway.objects.get(code="gb_gmc_off_label")
    for user in (physician, officer):
        with pytest.raises(NationalRulesRefused, match="national rules steward"):
            pathway_version_edit(
                actor=user, pathway=pathway, changes={"confirmed": True}, change_note="x"
            )
    with pytest.raises(ApplicationError, match="what changed"):
        pathway_version_edit(
            actor=rule_steward, pathway=pathway, changes={"confirmed": True}, change_note=" "
        )


def test_application_steps_follow_their_state_machine(make_request, physician, pharmacist):
    request = make_request()
    today = timezone.localdate()
    application = application_create(
        actor=pharmacist, request=request, body="hospital_drug_committee", prepared_at=today
    )
    with pytest.raises(ApplicationError, match=r"'Preparing': 'grant' is not possible now"):
        application_step(
            actor=pharmacist,
            application=application,
            step="grant",
            on=today,
            valid_until=today + timedelta(days=30),
        )
    with pytest.raises(ApplicationError, match="future"):
        application_step(
            actor=pharmacist, application=application, step="submit", on=today + timedelta(days=1)
        )
    with pytest.raises(ApplicationError, match="pharmacist"):
        application_step(actor=physician, application=application, step="submit", on=today)
    application_step(
        actor=pharmacist, application=application, step="submit", on=today, protocol_number="HDC-1"
    )
    application_step(
        actor=pharmacist, application=application, step="request_information", on=today
    )
    application_step(actor=pharmacist, application=application, step="answer", on=today)
    with pytest.raises(ApplicationError, match="valid"):
        application_step(actor=pharmacist, application=application, step="grant", on=today)
    granted = application_step(
        actor=pharmacist,
        application=application,
        step="grant",
        on=today,
        valid_until=today + timedelta(days=90),
    )
    assert (
        granted.status == "granted" and granted.is_valid_now and granted.protocol_number == "HDC-1"
    )
    renewal = application_create(
        actor=pharmacist,
        request=request,
        body="hospital_drug_committee",
        prepared_at=today,
        renewal_of=granted,
    )
    assert renewal.application_type == "renewal" and renewal.renewal_of == granted


def test_checklist_items_copy_the_version_text(make_request, physician):
    request = make_request({**LISTING_648, "prior_azacitidine": "yes"})
    pathway_choose(actor=physician, request=request, pathway_code="it_law_94_98")
    version = request.pathway_choice.pathway_version
    assert [i["text"] for i in version.checklist] == list(
        ChecklistItem.objects.filter(request=request).values_list("text", flat=True)
    )
