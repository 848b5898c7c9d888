"""The request's whole life through the services, with the audit event of every step."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from audit.models import AuditEvent
from audit.services import audit_chain_verify
from evidence.models import Study
from offlabel.exceptions import ApplicationError, ConflictError
from prescriptions.models import OffLabelRequest, RequestTransition
from prescriptions.services import (
    evidence_attach,
    patient_create,
    patient_identity_read,
    request_create,
    request_transition,
    request_update,
)
from prescriptions.workflow import requirement_register, requirements_for
from regulatory.services import pathway_choose
from tests.pharmacy.conftest import dispense_cycle_one
from tests.prescriptions.conftest import COMPLETE_PROFILE, REGIMEN, checklist_complete

S = OffLabelRequest.Status


def _events(request):
    return list(
        AuditEvent.objects.filter(
            object_type="prescriptions.offlabelrequest", object_id=str(request.pk)
        )
        .order_by("sequence")
        .values_list("action", "actor_username")
    )


def test_whole_life_of_a_request_through_the_services(physician, pharmacist, draft):
    checklist_complete(draft)
    steps = [
        (physician, "submit", "", S.SUBMITTED),
        (pharmacist, "start_review", "", S.IN_REVIEW),
        (
            pharmacist,
            "request_changes",
            "Please add the cytogenetics report date.",
            S.CHANGES_REQUESTED,
        ),
        (physician, "resubmit", "", S.RESUBMITTED),
        (pharmacist, "start_review", "", S.IN_REVIEW),
        (pharmacist, "approve", "Evidence adequate; Law 94/98 conditions met.", S.APPROVED),
        (pharmacist, "suspend", "Grade 4 neutropenia after remission.", S.SUSPENDED),
        (pharmacist, "resume", "Counts recovered to grade 1.", S.ACTIVE),
        (physician, "complete", "Four cycles given.", S.COMPLETED),
    ]
    for actor, transition, reason, expected in steps:
        if transition == "suspend":  # cycle 1 dispensed: the request became active
            draft = dispense_cycle_one(draft, pharmacist)
            assert draft.status == S.ACTIVE
            assert draft.transitions.last().to_status == S.ACTIVE
        draft = request_transition(actor=actor, request=draft, transition=transition, reason=reason)
        assert draft.status == expected
        event = AuditEvent.objects.exclude(action="plan.version_created").order_by("-sequence")[0]
        assert event.action == f"request.{transition}" and event.actor == actor
        assert event.after == {"status": expected, "reason": reason}
    # Plan versions are recorded as the inputs change; the first one with the request itself.
    assert _events(draft)[1][0] == "plan.version_created"
    assert (
        [e[0] for e in _events(draft) if e[0] != "plan.version_created"]
        == [
            "request.created",
            "request.evidence_attached",
            "request.pathway_chosen",
            "consent.requested",
            "consent.rendered",
            "consent.signed",
            *["checklist.attested"] * draft.checklist.filter(kind="attestation").count(),
            *[f"request.{t}" for _, t, _, _ in steps[:6]],  # submit ... approve
            "tls.recorded",
            "dispensation.created",
            "request.start_dispensing",
            *[f"request.{t}" for _, t, _, _ in steps[6:]],  # suspend, resume, complete
        ]
    )
    assert draft.transitions.count() == len(steps) + 1
    assert draft.profile_snapshot["pseudonym"] == draft.patient.pseudonym
    assert audit_chain_verify().ok


def test_submission_refused_with_every_missing_piece_named(physician, studies):
    patient = patient_create(actor=physician, profile={"age_years": 70})
    request = request_create(actor=physician, patient=patient)
    with pytest.raises(ApplicationError) as refused:
        request_transition(actor=physician, request=request, transition="submit")
    message = refused.value.message
    for missing in (
        "weight (kg)",
        "disease status",
        "clinical rationale",
        "the partner regimen",
        "no study is attached",
    ):
        assert missing in message
    request.refresh_from_db()
    assert request.status == S.DRAFT
    assert not AuditEvent.objects.filter(action="request.submit").exists()


def test_approval_waits_for_outside_authorisation_when_the_pathway_needs_it(
    physician, pharmacist, patient, studies, rules
):
    from datetime import timedelta

    from django.utils import timezone

    from regulatory.services import application_create, application_step

    request = request_create(
        actor=physician, patient=patient, fields={**REGIMEN, "jurisdiction": "US"}
    )
    evidence_attach(actor=physician, request=request, study=Study.objects.get(reference=63))
    pathway_choose(actor=physician, request=request, pathway_code="us_pt_committee")
    request.refresh_from_db()
    assert request.needs_outside_authorisation
    checklist_complete(request)
    request_transition(actor=physician, request=request, transition="submit")
    request_transition(actor=pharmacist, request=request, transition="start_review")
    with pytest.raises(ApplicationError, match="send it for authorisation first"):
        request_transition(actor=pharmacist, request=request, transition="approve", reason="ok")
    request_transition(actor=pharmacist, request=request, transition="send_for_authorisation")
    with pytest.raises(ApplicationError, match="not recorded as granted"):
        request_transition(actor=pharmacist, request=request, transition="approve", reason="ok")
    today = timezone.localdate()
    application = application_create(
        actor=pharmacist, request=request, body="pt_committee", prepared_at=today
    )
    application_step(actor=pharmacist, application=application, step="submit", on=today)
    application_step(
        actor=pharmacist,
        application=application,
        step="grant",
        on=today,
        valid_until=today + timedelta(days=180),
    )
    approved = request_transition(
        actor=pharmacist, request=request, transition="approve", reason="P&T granted"
    )
    assert approved.status == S.APPROVED


def test_direct_approval_when_no_outside_decision_is_needed(physician, pharmacist, draft):
    request_transition(actor=physician, request=draft, transition="submit")
    request_transition(actor=pharmacist, request=draft, transition="start_review")
    with pytest.raises(ApplicationError, match="approve it directly"):
        request_transition(actor=pharmacist, request=draft, transition="send_for_authorisation")


@pytest.mark.parametrize("transition", ["reject", "request_changes"])
def test_pharmacist_decisions_need_a_reason(physician, pharmacist, draft, transition):
    request_transition(actor=physician, request=draft, transition="submit")
    request_transition(actor=pharmacist, request=draft, transition="start_review")
    with pytest.raises(ApplicationError, match="give a reason"):
        request_transition(actor=pharmacist, request=draft, transition=transition, reason="  ")


def test_roles_are_checked_on_every_transition(
    physician, other_physician, pharmacist, hospital_admin, draft
):
    with pytest.raises(ApplicationError, match="Only the prescriber"):
        request_transition(actor=other_physician, request=draft, transition="submit")
    with pytest.raises(ApplicationError, match="role does not allow"):
        request_transition(actor=pharmacist, request=draft, transition="submit")
    request_transition(actor=physician, request=draft, transition="submit")
    with pytest.raises(ApplicationError, match="role does not allow"):
        request_transition(actor=physician, request=draft, transition="start_review")
    with pytest.raises(ApplicationError, match="role does not allow"):
        request_transition(actor=hospital_admin, request=draft, transition="start_review")


def test_nobody_acts_on_another_hospitals_request(foreign_pharmacist, physician, draft):
    request_transition(actor=physician, request=draft, transition="submit")
    with pytest.raises(ApplicationError, match="Not found"):
        request_transition(actor=foreign_pharmacist, request=draft, transition="start_review")


def test_a_stale_form_gets_a_conflict(physician, pharmacist, draft):
    stale_version = draft.version
    request_transition(actor=physician, request=draft, transition="submit")
    with pytest.raises(ConflictError, match="changed by someone else"):
        request_transition(
            actor=pharmacist,
            request=draft,
            transition="start_review",
            expected_version=stale_version,
        )


def test_a_wrong_state_names_who_moved_it(physician, pharmacist, draft):
    request_transition(actor=physician, request=draft, transition="submit")
    request_transition(actor=pharmacist, request=draft, transition="start_review")
    with pytest.raises(ConflictError, match=r"now 'In pharmacy review' by ph\.rossi"):
        request_transition(actor=pharmacist, request=draft, transition="start_review")


def test_evidence_is_frozen_once_submitted(physician, draft):
    request_transition(actor=physician, request=draft, transition="submit")
    with pytest.raises(ApplicationError, match="frozen"):
        evidence_attach(actor=physician, request=draft, study=Study.objects.get(reference=46))
    with pytest.raises(ApplicationError, match="edited only as a draft"):
        request_update(actor=physician, request=draft, fields={"cycles_planned": 6})


def test_later_issues_can_plug_in_a_requirement(physician, draft):
    before = requirements_for("submit")
    try:
        requirement_register("submit", code="test_consent", description="consent")(
            lambda request: "consent is not signed"
        )
        with pytest.raises(ApplicationError, match="consent is not signed"):
            request_transition(actor=physician, request=draft, transition="submit")
    finally:
        from prescriptions import workflow

        workflow._REQUIREMENTS["submit"] = before


def test_identity_reads_are_audited_and_limited(
    physician, other_physician, pharmacist, hospital_admin, patient
):
    read = patient_identity_read(actor=pharmacist, patient_id=patient.pk)
    assert read.allowed and read.identity is not None
    assert read.identity.family_name == "Inventatissima"
    assert patient_identity_read(actor=physician, patient_id=patient.pk).allowed
    assert AuditEvent.objects.filter(action="patient.identity_read").count() == 2
    for outsider in (other_physician, hospital_admin):
        # Returned, not raised: a raised refusal would roll its audit event back (issue 14).
        refused = patient_identity_read(actor=outsider, patient_id=patient.pk)
        assert not refused.allowed and refused.identity is None and refused.patient is None
    assert AuditEvent.objects.filter(action="patient.identity_read_refused").count() == 2
    for event in AuditEvent.objects.all():
        assert "Inventatissima" not in str(event.before) + str(event.after) + event.summary


def test_bsa_is_computed_from_height_and_weight(physician):
    patient = patient_create(actor=physician, profile=COMPLETE_PROFILE)
    assert str(patient.bsa_m2) == "1.70"  # sqrt(162 * 64 / 3600) = 1.697
    assert patient.mutations.count() == 14


@pytest.mark.django_db(transaction=True)
def test_two_pharmacists_at_once_one_wins_the_other_gets_a_conflict(
    physician, pharmacist, hospital, studies, rules
):
    from tests.factories import UserFactory

    second = UserFactory.create(username="ph.second", hospital=hospital, role="pharmacist")
    patient = patient_create(actor=physician, profile=COMPLETE_PROFILE)
    request = request_create(actor=physician, patient=patient, fields=REGIMEN)
    evidence_attach(actor=physician, request=request, study=Study.objects.get(reference=82))
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    request_transition(actor=physician, request=request, transition="submit")
    version = OffLabelRequest.objects.get(pk=request.pk).version

    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def act(user):
        try:
            barrier.wait()
            request_transition(
                actor=user, request=request, transition="start_review", expected_version=version
            )
            outcomes[user.username] = "won"
        except ConflictError as exc:
            outcomes[user.username] = f"conflict: {exc.message}"
        finally:
            connections.close_all()  # each thread used its own real connection

    threads = [threading.Thread(target=act, args=(u,)) for u in (pharmacist, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(v.split(":")[0] for v in outcomes.values()) == ["conflict", "won"], outcomes
    assert RequestTransition.objects.filter(request=request, to_status=S.IN_REVIEW).count() == 1
    assert AuditEvent.objects.filter(action="request.start_review").count() == 1
    assert audit_chain_verify().ok


def test_updating_one_mutation_keeps_the_others(physician, patient):
    from prescriptions.services import patient_update

    patient_update(actor=physician, patient=patient, profile={}, mutations={"NPM1": "present"})
    statuses = dict(patient.mutations.values_list("gene", "status"))
    assert statuses["IDH2"] == "present" and statuses["TP53"] == "absent"
    assert statuses["NPM1"] == "present" and statuses["KRAS"] == "not_tested"
    event = AuditEvent.objects.get(action="patient.updated")
    assert event.before is not None and event.after is not None
    assert event.after == {"mutations": {**event.before["mutations"], "NPM1": "present"}}


def test_an_attached_study_is_frozen_as_it_was(physician, pharmacist, draft):
    from evidence.services import study_create, study_update
    from prescriptions.selectors import evidence_summary

    fields = {
        "first_author": "Invented",
        "year": 2025,
        "citation": "Invented et al. (test, not real)",
        "design": "phase_2",
        "n_patients": 30,
        "orr_percent": 40,
        "n_rr_ven_treated": 30,
        "orr_rr_percent": 40,
        "source_passage": "ORR 40% (invented)",
    }
    study = study_create(
        actor=pharmacist, fields=fields, settings_tags=["rr_aml"], regimen_codes=["ven_aza"]
    )
    attachment = evidence_attach(actor=physician, request=draft, study=study, note="new trial")
    study_update(
        actor=pharmacist,
        study=study,
        fields={
            **fields,
            "orr_percent": 90,
            "n_patients": 300,
            "orr_rr_percent": 90,
            "n_rr_ven_treated": 300,
        },
        settings_tags=["rr_aml"],
        regimen_codes=["ven_aza"],
    )
    attachment.refresh_from_db()
    assert attachment.snapshot["orr_percent"] == 40 and attachment.snapshot["n_patients"] == 30
    assert attachment.snapshot["orr_rr_percent"] == 40
    summary = evidence_summary(draft)
    # Lou 2020 (R/R ORR 47.9%, 48 R/R VEN-treated patients) and the invented study as attached
    # (40%, 30): the R/R figures, as frozen.
    assert summary.n_studies == 2 and summary.n_patients == 78
    assert summary.orr_range == (Decimal("40"), Decimal("47.9"))
    assert summary.highest_design == "clinical trial (phase Ib/II or II)"
    assert "40–47.9%" in summary.sentence
