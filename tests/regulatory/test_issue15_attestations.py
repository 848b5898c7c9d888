"""Issue 15: an attestation records what it attested; a change to those inputs withdraws it with
a timeline entry and approval waits until it is attested again; the chosen pathway is
re-evaluated, with a warning while it no longer applies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from offlabel.exceptions import ApplicationError
from prescriptions.models import OffLabelRequest
from prescriptions.services import inputs_changed, request_transition, request_update
from prescriptions.workflow import requirements_unmet
from regulatory.models import ChecklistItem, PathwayChoice
from regulatory.services import checklist_attest, pathway_choose
from tests.prescriptions.conftest import (  # noqa: F401 - fixtures
    checklist_complete,
    draft,
    patient,
)
from tests.regulatory.conftest import LISTING_648

DOSE_70 = {
    "ven_target_dose_mg": Decimal("70"),
    "ramp_up": "custom",
    "ramp_up_custom": "10/20/50/70 mg, days 1-4",
}


@pytest.fixture
def law_648(make_request, physician):
    request = make_request(LISTING_648)
    pathway_choose(
        actor=physician,
        request=request,
        pathway_code="it_law_648",
        reason="The listing applies: checked against the published text.",
    )
    request.refresh_from_db()
    return request


def _schedule(request: OffLabelRequest) -> ChecklistItem:
    return request.checklist.get(code="listed_schedule")


def _update(physician, request, fields):
    request.refresh_from_db()
    request_update(
        actor=physician, request=request, fields=fields, expected_version=request.version
    )
    request.refresh_from_db()


def test_an_attestation_records_the_regimen_dose_and_ramp_up_it_attested(law_648, physician):
    item = checklist_attest(actor=physician, item=_schedule(law_648), note="as listed")
    inputs = item.attested_inputs
    assert inputs["regimen"] == ["azacitidine", ""]
    assert inputs["ven_target_dose_mg"] == "400"
    assert inputs["ramp_up"] == ["hma_3_day", ""]
    assert inputs["plan_doses"]["ramp_up_mg"] == ["100", "200", "400"]
    assert len(item.attested_inputs_sha256) == 64
    event = AuditEvent.objects.filter(action="checklist.attested").latest("sequence")
    assert event.after["inputs"]["ven_target_dose_mg"] == "400"
    assert "400 mg/day" in event.summary and "ramp-up 100/200/400 mg" in event.summary


def test_a_dose_change_withdraws_the_648_schedule_attestation_and_blocks_approval(
    client, law_648, physician
):
    checklist_attest(actor=physician, item=_schedule(law_648))
    eligible = law_648.checklist.get(code="hma_eligible")
    checklist_attest(actor=physician, item=eligible)
    assert _schedule(law_648).text not in " ".join(requirements_unmet(law_648, "approve"))

    _update(physician, law_648, DOSE_70)

    item = _schedule(law_648)
    assert item.attested_by is None and item.attested_at is None
    assert {"ven_target_dose_mg", "ramp_up", "plan_doses"} <= set(item.withdrawn_changes)
    assert "patient" not in item.withdrawn_changes and "regimen" not in item.withdrawn_changes
    # What the eligibility attestation stated rested on the same request: withdrawn as well.
    eligible.refresh_from_db()
    assert eligible.attested_by is None
    event = AuditEvent.objects.filter(
        action="checklist.attestation_withdrawn", after__item="listed_schedule"
    ).get()
    assert event.before["inputs"]["ven_target_dose_mg"] == "400"
    assert event.after["inputs"]["ven_target_dose_mg"] == "70"
    assert "VEN target daily dose" in event.summary and law_648.reference in event.summary
    assert event.object_id == str(law_648.pk)  # on the request's timeline
    assert item.text in " ".join(requirements_unmet(law_648, "approve"))

    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[law_648.pk])).content.decode()
    assert "checklist.attestation_withdrawn" in page
    assert "because the VEN target daily dose, ramp-up" in page and "attest it again" in page

    again = checklist_attest(actor=physician, item=item)
    assert again.attested_inputs["ven_target_dose_mg"] == "70"
    assert again.withdrawn_at is None and again.withdrawn_changes == []
    assert item.text not in " ".join(requirements_unmet(law_648, "approve"))
    page = client.get(reverse("requests:detail", args=[law_648.pk])).content.decode()
    assert "70 mg/day" in page


def test_a_change_to_what_was_not_attested_keeps_the_attestation(law_648, physician):
    checklist_attest(actor=physician, item=_schedule(law_648))
    _update(
        physician,
        law_648,
        {"clinical_rationale": "Second relapse after salvage; unfit for intensive induction."},
    )
    assert _schedule(law_648).attested_by == physician
    # And a write that changes nothing at all leaves it too.
    inputs_changed(actor=physician, requests=[law_648])
    assert _schedule(law_648).attested_by == physician
    assert not AuditEvent.objects.filter(action="checklist.attestation_withdrawn").exists()


def test_a_regimen_outside_the_listing_makes_the_pathway_no_longer_apply(
    client, law_648, physician
):
    _update(physician, law_648, {"regimen": "decitabine_10"})
    choice = PathwayChoice.objects.get(request=law_648)
    assert choice.applies_now is False
    event = AuditEvent.objects.get(action="request.pathway_no_longer_applies")
    assert "no longer applies" in event.summary and "Schedule as listed" in event.summary
    assert event.object_id == str(law_648.pk)
    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[law_648.pk])).content.decode()
    assert "The chosen pathway no longer applies" in page and 'id="pathway-warning"' in page
    assert any("no longer applies" in u for u in requirements_unmet(law_648, "submit"))
    with pytest.raises(ApplicationError, match="no longer applies"):
        request_transition(actor=physician, request=law_648, transition="submit")

    _update(physician, law_648, {"regimen": "azacitidine"})
    assert PathwayChoice.objects.get(request=law_648).applies_now is True
    assert AuditEvent.objects.filter(action="request.pathway_applies_again").count() == 1
    page = client.get(reverse("requests:detail", args=[law_648.pk])).content.decode()
    assert 'id="pathway-warning"' not in page
    assert not any("no longer applies" in u for u in requirements_unmet(law_648, "submit"))


def test_approval_waits_for_the_attestation_withdrawn_in_review(
    draft,  # noqa: F811 - the fixture
    physician,
    pharmacist,
):
    checklist_complete(draft)
    for actor, step, reason in (
        (physician, "submit", ""),
        (pharmacist, "start_review", ""),
        (pharmacist, "request_changes", "Five cycles, not four."),
    ):
        draft = request_transition(actor=actor, request=draft, transition=step, reason=reason)
    _update(physician, draft, {"cycles_planned": 5})
    withdrawn = list(draft.checklist.filter(kind="attestation", attested_by=None))
    assert withdrawn and all("cycles" in i.withdrawn_changes for i in withdrawn)
    draft = request_transition(actor=physician, request=draft, transition="resubmit")
    draft = request_transition(actor=pharmacist, request=draft, transition="start_review")
    with pytest.raises(ApplicationError) as refused:
        request_transition(actor=pharmacist, request=draft, transition="approve", reason="ok")
    assert all(item.text in refused.value.message for item in withdrawn)
    checklist_complete(draft)
    approved = request_transition(
        actor=pharmacist, request=draft, transition="approve", reason="Conditions met."
    )
    assert approved.status == OffLabelRequest.Status.APPROVED


def test_after_approval_an_attestation_is_the_record_of_the_decision_and_stays(law_648, physician):
    item = checklist_attest(actor=physician, item=_schedule(law_648))
    # The state after approval, as the workflow leaves it (its own tests cover reaching it).
    OffLabelRequest.objects.filter(pk=law_648.pk).update(
        status=OffLabelRequest.Status.APPROVED, ven_target_dose_mg=Decimal("300")
    )
    law_648.refresh_from_db()
    inputs_changed(actor=physician, requests=[law_648])
    item.refresh_from_db()
    assert item.attested_by == physician and item.withdrawn_at is None


def test_an_attestation_made_before_it_recorded_its_inputs(law_648, physician):
    """Attested before issue 15 (no recorded inputs): kept while the plan is the version it was
    made on, recorded then; withdrawn once the inputs change."""
    item = checklist_attest(actor=physician, item=_schedule(law_648))
    ChecklistItem.objects.filter(pk=item.pk).update(attested_inputs=None, attested_inputs_sha256="")
    _update(physician, law_648, {"lay_summary": "A tablet a day with the injections."})
    item.refresh_from_db()
    assert item.attested_by == physician and len(item.attested_inputs_sha256) == 64
    ChecklistItem.objects.filter(pk=item.pk).update(attested_inputs=None, attested_inputs_sha256="")
    _update(physician, law_648, DOSE_70)
    item.refresh_from_db()
    assert item.attested_by is None


def test_the_api_shows_what_was_attested_and_why_it_was_withdrawn(api_client, law_648, physician):
    checklist_attest(actor=physician, item=_schedule(law_648))
    api_client.force_authenticate(physician)
    url = f"/api/v1/requests/{law_648.pk}/checklist/"
    row = next(i for i in api_client.get(url).json() if i["code"] == "listed_schedule")
    assert row["attested_inputs"]["ven_target_dose_mg"] == "400" and row["holds"]
    _update(physician, law_648, DOSE_70)
    row = next(i for i in api_client.get(url).json() if i["code"] == "listed_schedule")
    assert not row["holds"] and row["withdrawn_at"]
    assert "ven_target_dose_mg" in row["withdrawn_changes"]
