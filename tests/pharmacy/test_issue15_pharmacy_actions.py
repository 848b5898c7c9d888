"""Issue 15: the pharmacist approves or asks for changes on the pharmacy page, beside the
findings, through the request's own workflow; the physician reads the pharmacist's reason at
the top of the request; the Withdraw reason box sits apart from Submit; approving asks for no
reason."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from prescriptions.models import OffLabelRequest, RequestTransition
from prescriptions.services import request_transition
from tests.prescriptions.conftest import checklist_complete

S = OffLabelRequest.Status
CHANGES = "Posaconazole is listed: lower the target dose to 70 mg (invented)."


@pytest.fixture
def in_review(draft, physician, pharmacist) -> OffLabelRequest:
    checklist_complete(draft)
    for actor, transition in ((physician, "submit"), (pharmacist, "start_review")):
        draft = request_transition(actor=actor, request=draft, transition=transition)
    return draft


def _forms(page: str) -> dict[str, str]:
    """The transition forms of a page (their HTML), by transition name."""
    found = {}
    for form in re.findall(
        r'<form[^>]*action="/requests/\d+/transition/"[^>]*>.*?</form>', page, re.S
    ):
        name = re.search(r'name="transition" value="(\w+)"', form)
        if name:
            found[name.group(1)] = form
    return found


def test_the_pharmacist_approves_on_the_pharmacy_page_without_giving_a_reason(
    client, in_review, pharmacist
):
    client.force_login(pharmacist)
    url = reverse("pharmacy:request", args=[in_review.pk])
    page = client.get(url).content.decode()
    forms = _forms(page)
    assert {"approve", "request_changes", "reject"} <= set(forms)
    assert "<textarea" not in forms["approve"]  # no "Reason" to approve
    assert '<textarea name="reason"' in forms["request_changes"]
    assert 'name="back" value="pharmacy"' in forms["approve"]
    # The actions sit right after the findings, before the doses and the dispensing.
    assert page.index('id="safety"') < page.index('id="actions"') < page.index('id="dispensing"')
    answer = client.post(
        reverse("requests:transition", args=[in_review.pk]),
        {"transition": "approve", "version": in_review.version, "back": "pharmacy"},
    )
    assert answer.status_code == 302 and answer["Location"] == url
    in_review.refresh_from_db()
    assert in_review.status == S.APPROVED
    event = AuditEvent.objects.filter(action="request.approve").get()
    assert event.actor_username == pharmacist.username
    # The approval is an electronic signature (issue 16): its event carries it.
    assert event.after.pop("signature")["meaning"] == "approved as pharmacist"
    assert event.after == {"status": S.APPROVED, "reason": ""}
    assert "is now" in client.get(url).content.decode()  # the message, on the pharmacy page


def test_changes_asked_on_the_pharmacy_page_are_read_at_the_top_of_the_request(
    client, in_review, pharmacist, physician
):
    client.force_login(pharmacist)
    url = reverse("pharmacy:request", args=[in_review.pk])
    answer = client.post(
        reverse("requests:transition", args=[in_review.pk]),
        {
            "transition": "request_changes",
            "version": in_review.version,
            "reason": CHANGES,
            "back": "pharmacy",
        },
    )
    assert answer.status_code == 302 and answer["Location"] == url
    in_review.refresh_from_db()
    assert in_review.status == S.CHANGES_REQUESTED
    assert RequestTransition.objects.filter(
        request=in_review, to_status=S.CHANGES_REQUESTED, reason=CHANGES, actor=pharmacist
    ).exists()
    event = AuditEvent.objects.get(action="request.request_changes")
    assert event.after["reason"] == CHANGES
    client.force_login(physician)
    detail = client.get(reverse("requests:detail", args=[in_review.pk])).content.decode()
    box = detail.index('id="changes-requested"')
    assert CHANGES in detail[box:] and box < detail.index("<h2>Regimen</h2>")
    assert pharmacist.username in detail[box : detail.index("</div>", box)]
    # While editing too, on every step.
    step = client.get(reverse("requests:step-regimen", args=[in_review.pk])).content.decode()
    assert 'id="changes-requested"' in step and CHANGES in step
    # Resubmitted, the request no longer shows it.
    request_transition(actor=physician, request=in_review, transition="resubmit")
    detail = client.get(reverse("requests:detail", args=[in_review.pk])).content.decode()
    assert 'id="changes-requested"' not in detail


def test_asking_for_changes_without_saying_what_is_refused_on_the_pharmacy_page(
    client, in_review, pharmacist
):
    client.force_login(pharmacist)
    answer = client.post(
        reverse("requests:transition", args=[in_review.pk]),
        {"transition": "request_changes", "version": in_review.version, "back": "pharmacy"},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == reverse("pharmacy:request", args=[in_review.pk])
    assert "Please give a reason" in answer.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW
    assert not AuditEvent.objects.filter(action="request.request_changes").exists()


def test_the_withdraw_reason_box_sits_apart_from_submit(client, draft, physician):
    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    actions = page[page.index('id="actions"') :]
    actions = actions[: actions.index("</section>")]
    forms = _forms(actions)
    assert set(forms) == {"submit", "withdraw"}
    assert "<textarea" not in forms["submit"]
    # Submit comes first, on its own row; Withdraw is opened on purpose below it.
    submit_at = actions.index('value="submit"')
    details_at = actions.index('<details class="destructive-action">')
    assert submit_at < details_at < actions.index('value="withdraw"')
    assert actions.index('<textarea name="reason"') > details_at


def test_a_physician_gets_no_pharmacist_actions_on_the_pharmacy_page(client, in_review, physician):
    client.force_login(physician)
    page = client.get(reverse("pharmacy:request", args=[in_review.pk])).content.decode()
    assert not _forms(page) and 'id="actions"' not in page
    # And the workflow refuses them anyway (one workflow, one set of rules).
    client.post(
        reverse("requests:transition", args=[in_review.pk]),
        {"transition": "approve", "version": in_review.version, "back": "pharmacy"},
    )
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW
