"""Follow-up services: who may write, on which requests, with which dates; each write audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from followup.models import AdverseEvent, FollowUp, ResponseAssessment
from followup.report import renewal_report_request
from followup.services import (
    adverse_event_create,
    adverse_event_update,
    followup_update,
    response_assessment_create,
)
from offlabel.exceptions import ApplicationError, NotVisible
from prescriptions.models import OffLabelRequest
from tests.followup.conftest import IDENTIFYING, ae_fields, days_ago, start_treatment

CONCLUSION = "CRi after two cycles; febrile neutropenia grade 3 resolved; continue VEN + AZA."


def _write_each(actor, request):
    """One call of each writing service, for the permission tests."""
    return {
        "assessment": lambda: response_assessment_create(
            actor=actor, request=request, assessed_on=days_ago(5), response="cr"
        ),
        "adverse_event": lambda: adverse_event_create(actor=actor, request=request, **ae_fields()),
        "followup": lambda: followup_update(
            actor=actor, request=request, fields={"last_contact_on": days_ago(1)}
        ),
        "renewal_report": lambda: renewal_report_request(
            actor=actor, request=request, conclusion=CONCLUSION
        ),
    }


def _no_followup_rows():
    return (
        ResponseAssessment.objects.count() == 0
        and AdverseEvent.objects.count() == 0
        and FollowUp.objects.count() == 0
    )


@pytest.mark.parametrize("service", ["assessment", "adverse_event", "followup", "renewal_report"])
def test_another_hospitals_pharmacist_gets_not_found(service, treated, foreign_pharmacist):
    with pytest.raises(NotVisible):
        _write_each(foreign_pharmacist, treated)[service]()
    assert _no_followup_rows()


@pytest.mark.parametrize("service", ["assessment", "adverse_event", "followup"])
@pytest.mark.parametrize("who", ["hospital_admin", "regulatory_officer", "other_physician"])
def test_only_the_prescriber_or_a_pharmacist_may_record(service, who, treated, request):
    actor = request.getfixturevalue(who)
    with pytest.raises(ApplicationError, match="prescribing physician or a pharmacist"):
        _write_each(actor, treated)[service]()
    assert _no_followup_rows()
    assert not AuditEvent.objects.filter(
        action__in=["assessment.recorded", "adverse_event.recorded", "followup.updated"]
    ).exists()


def test_the_prescriber_and_a_pharmacist_both_record_assessments(treated, physician, pharmacist):
    response_assessment_create(
        actor=physician, request=treated, assessed_on=days_ago(30), response="pr"
    )
    response_assessment_create(
        actor=pharmacist,
        request=treated,
        assessed_on=days_ago(2),
        response="cri",
        mrd="negative",
        method="Bone marrow aspirate; MRD by flow cytometry 10^-4",
    )
    assert list(treated.assessments.values_list("response", "recorded_by__username")) == [
        ("pr", physician.username),
        ("cri", pharmacist.username),
    ]


def test_an_assessment_is_audited_with_reference_and_pseudonym_only(treated, physician):
    assessment = response_assessment_create(
        actor=physician, request=treated, assessed_on=days_ago(3), response="cr", mrd="negative"
    )
    event = AuditEvent.objects.get(action="assessment.recorded")
    assert event.object_type == "prescriptions.offlabelrequest"
    assert event.object_id == str(treated.pk)
    assert event.actor == physician
    assert treated.reference in event.summary and treated.patient.pseudonym in event.summary
    assert event.after["assessment"] == assessment.pk and event.after["response"] == "cr"
    for identifying in IDENTIFYING:
        assert identifying not in event.summary and identifying not in str(event.after)


@pytest.mark.parametrize("status", ["draft", "submitted", "approved", "rejected", "withdrawn"])
def test_follow_up_waits_for_a_treated_request(status, draft, physician, pharmacist):
    start_treatment(draft, on=days_ago(20), pharmacist=pharmacist, status=status)
    with pytest.raises(ApplicationError, match="once treatment has started"):
        response_assessment_create(
            actor=physician, request=draft, assessed_on=days_ago(1), response="cr"
        )


@pytest.mark.parametrize("status", ["active", "completed", "suspended"])
def test_treated_states_accept_follow_up(status, draft, physician, pharmacist):
    start_treatment(draft, on=days_ago(20), pharmacist=pharmacist, status=status)
    response_assessment_create(
        actor=physician, request=draft, assessed_on=days_ago(1), response="cr"
    )
    assert draft.assessments.count() == 1


def test_an_active_request_without_a_dispensation_has_not_started(draft, physician):
    OffLabelRequest.objects.filter(pk=draft.pk).update(status="active")
    with pytest.raises(ApplicationError, match="no cycle has been dispensed"):
        response_assessment_create(
            actor=physician, request=draft, assessed_on=timezone.localdate(), response="cr"
        )


def test_dates_before_treatment_start_or_in_the_future_are_refused(treated, physician):
    start = days_ago(60)
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ApplicationError, match="before the start of treatment"):
        response_assessment_create(
            actor=physician, request=treated, assessed_on=start - timedelta(days=1), response="cr"
        )
    with pytest.raises(ApplicationError, match="in the future"):
        response_assessment_create(
            actor=physician, request=treated, assessed_on=tomorrow, response="cr"
        )
    with pytest.raises(ApplicationError, match=r"onset date .* before the start"):
        adverse_event_create(
            actor=physician,
            request=treated,
            **ae_fields(onset_on=start - timedelta(days=3), resolved_on=None, outcome="unknown"),
        )
    with pytest.raises(ApplicationError, match=r"resolution date .* in the future"):
        adverse_event_create(actor=physician, request=treated, **ae_fields(resolved_on=tomorrow))
    with pytest.raises(ApplicationError, match=r"date of death .* before the start"):
        followup_update(
            actor=physician, request=treated, fields={"death_on": start - timedelta(days=1)}
        )
    with pytest.raises(ApplicationError, match=r"transplant date .* in the future"):
        followup_update(actor=physician, request=treated, fields={"transplant_on": tomorrow})
    # The first day of treatment and today are both allowed.
    response_assessment_create(actor=physician, request=treated, assessed_on=start, response="pr")
    response_assessment_create(
        actor=physician, request=treated, assessed_on=timezone.localdate(), response="cr"
    )
    assert treated.assessments.count() == 2
    assert AuditEvent.objects.filter(action="assessment.recorded").count() == 2


def test_a_grade_5_event_must_be_fatal(treated, physician):
    with pytest.raises(ValidationError) as refused:
        adverse_event_create(
            actor=physician,
            request=treated,
            **ae_fields(grade=5, outcome="not_recovered", resolved_on=None, serious=True),
        )
    assert "outcome" in refused.value.message_dict
    assert "death" in refused.value.message_dict["outcome"][0]
    with pytest.raises(ValidationError) as refused:
        adverse_event_create(
            actor=physician, request=treated, **ae_fields(grade=3, outcome="fatal", serious=True)
        )
    assert "grade" in refused.value.message_dict
    assert not AdverseEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="adverse_event.recorded").exists()
    fatal = adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(
            term="sepsis", grade=5, outcome="fatal", resolved_on=days_ago(20), serious=True
        ),
    )
    assert fatal.grade == 5


def test_the_database_enforces_the_grade_rules_too(treated, physician):
    base = {
        "request": treated,
        "term": "sepsis",
        "onset_on": days_ago(10),
        "relation": "possibly",
        "recorded_by": physician,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(**base, grade=5, outcome="recovered")
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(**base, grade=6, outcome="recovered")
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(**{**base, "term": "other"}, grade=2, outcome="recovered")


def test_other_term_needs_its_name_and_fatal_events_are_serious(treated, physician):
    with pytest.raises(ValidationError, match="Name the event"):
        adverse_event_create(actor=physician, request=treated, **ae_fields(term="other"))
    with pytest.raises(ValidationError, match="serious by definition"):
        adverse_event_create(
            actor=physician,
            request=treated,
            **ae_fields(grade=5, outcome="fatal", serious=False),
        )
    event = adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(term="other", term_other="Differentiation syndrome", grade=2),
    )
    assert event.term_label == "Differentiation syndrome"


def test_an_adverse_event_is_audited(treated, pharmacist):
    event = adverse_event_create(actor=pharmacist, request=treated, **ae_fields())
    audit = AuditEvent.objects.get(action="adverse_event.recorded")
    assert audit.object_id == str(treated.pk) and audit.actor == pharmacist
    assert "Febrile neutropenia grade 3" in audit.summary
    assert treated.reference in audit.summary
    assert audit.after["adverse_event"] == event.pk and audit.after["grade"] == 3


def test_an_adverse_event_evolves_and_each_change_is_audited(treated, physician):
    event = adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(grade=3, outcome="recovering", resolved_on=None),
    )
    adverse_event_update(
        actor=physician,
        event=event,
        fields={"grade": 4, "outcome": "recovered", "resolved_on": days_ago(2)},
    )
    event.refresh_from_db()
    assert (event.grade, event.outcome, event.resolved_on) == (4, "recovered", days_ago(2))
    audit = AuditEvent.objects.get(action="adverse_event.updated")
    assert audit.before == {"grade": 3, "outcome": "recovering", "resolved_on": None}
    assert audit.after["grade"] == 4 and audit.after["outcome"] == "recovered"
    with pytest.raises(ApplicationError, match="Cannot change onset_on"):
        adverse_event_update(actor=physician, event=event, fields={"onset_on": days_ago(1)})


def test_the_followup_record_keeps_what_is_not_changed_and_audits_changes(treated, physician):
    followup_update(
        actor=physician,
        request=treated,
        fields={"transplant_on": days_ago(10), "last_contact_on": days_ago(1)},
    )
    record = followup_update(
        actor=physician,
        request=treated,
        fields={"treatment_end_on": days_ago(12), "treatment_end_reason": "transplant"},
    )
    assert record.transplant_on == days_ago(10) and record.last_contact_on == days_ago(1)
    assert record.treatment_end_reason == "transplant"
    assert FollowUp.objects.count() == 1
    last = AuditEvent.objects.filter(action="followup.updated").order_by("sequence").last()
    assert last is not None and last.after is not None
    assert set(last.after) == {"treatment_end_on", "treatment_end_reason"}
    assert "treatment_end_on" in last.summary


def test_followup_consistency_rules(treated, physician):
    with pytest.raises(ValidationError, match="both a date and a reason"):
        followup_update(actor=physician, request=treated, fields={"treatment_end_on": days_ago(5)})
    with pytest.raises(ValidationError, match="after the date of death"):
        followup_update(
            actor=physician,
            request=treated,
            fields={"death_on": days_ago(10), "last_contact_on": days_ago(2)},
        )
    with pytest.raises(ValidationError, match="record the date of death"):
        followup_update(
            actor=physician,
            request=treated,
            fields={"treatment_end_on": days_ago(5), "treatment_end_reason": "death"},
        )
    record = followup_update(
        actor=physician,
        request=treated,
        fields={
            "treatment_end_on": days_ago(5),
            "treatment_end_reason": "death",
            "death_on": days_ago(5),
            "death_cause": "infection",
        },
    )
    assert record.death_cause == "infection"
    with pytest.raises(ApplicationError, match="Cannot set patient"):
        followup_update(actor=physician, request=treated, fields={"patient": 1})
