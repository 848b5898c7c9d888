"""The audit viewer's action filter lists every ``AuditAction``, by family (issue 18); links
written when it was a free prefix still work; the API's filter takes a member only."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from audit.actions import AuditAction, audit_action_families
from audit.services import audit_record
from reports.forms import AuditFilterForm


def _offered(form: AuditFilterForm) -> list[str]:
    values = []
    for value, label in form.fields["action"].choices:  # type: ignore[attr-defined]
        if isinstance(label, list | tuple):  # a family's group
            values += [str(v) for v, _ in label]
        else:
            values.append(str(value))
    return values


def test_the_action_filter_offers_every_member_and_every_family() -> None:
    offered = _offered(AuditFilterForm())
    assert offered[0] == ""  # all actions
    assert set(AuditAction.values) <= set(offered)
    assert {f"{family}.*" for family in audit_action_families()} <= set(offered)
    assert len(offered) == 1 + len(AuditAction) + len(audit_action_families())
    # Each family's option comes first in its group, then its actions in the enum's order.
    groups = {
        str(label): [str(v) for v, _ in options]
        for label, options in AuditFilterForm().fields["action"].choices  # type: ignore[attr-defined]
        if isinstance(options, list | tuple)
    }
    assert groups["request"][0] == "request.*"
    assert groups["request"][1:] == [a.value for a in audit_action_families()["request"]]


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("request.approve", "request.approve"),
        ("request.*", "request.*"),
        ("request", "request.*"),  # the old free prefix
        ("request.", "request.*"),
        (" pathway. ", "pathway.*"),
        ("logout", "logout"),  # an action that is also its own family
        ("", ""),
    ],
)
def test_the_action_filter_reads_old_links(given: str, cleaned: str) -> None:
    form = AuditFilterForm({"action": given})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["action"] == cleaned


def test_the_action_filter_refuses_what_the_enum_does_not_list() -> None:
    for given in ("banana", "request.app", "report.exported_pdf"):
        form = AuditFilterForm({"action": given})
        assert not form.is_valid() and "action" in form.errors, given


def test_the_audit_page_lists_the_actions_and_filters_by_action_or_family(
    client, hospital_admin
) -> None:
    for action in (AuditAction.REQUEST_APPROVE, AuditAction.REQUEST_REJECT):
        audit_record(actor=hospital_admin, action=action, object_type="t", summary=f"{action} x")
    audit_record(
        actor=hospital_admin, action=AuditAction.LOGGED_OUT, object_type="t", summary="out x"
    )
    client.force_login(hospital_admin)
    url = reverse("reports:audit")

    page = html.unescape(client.get(url).content.decode())
    for action in AuditAction:
        assert f'<option value="{action.value}"' in page, action
    assert '<optgroup label="request">' in page and '<option value="request.*"' in page

    def summaries(action: str) -> set[str]:
        text = client.get(url, {"action": action}).content.decode()
        return {s for s in ("request.approve x", "request.reject x", "out x") if s in text}

    assert summaries("request.approve") == {"request.approve x"}
    assert summaries("request.*") == {"request.approve x", "request.reject x"}
    assert summaries("request") == {"request.approve x", "request.reject x"}
    assert summaries("request.") == {"request.approve x", "request.reject x"}
    assert summaries("logout") == {"out x"}
    assert summaries("logout.*") == {"out x"}
    old_link = client.get(url, {"action": "request"}).content.decode()
    assert '<option value="request.*" selected lang="en">' in old_link  # shown as filtered


def test_the_api_filters_by_one_member_and_refuses_any_other_value(
    api_client, hospital_admin
) -> None:
    audit_record(
        actor=hospital_admin, action=AuditAction.REQUEST_APPROVE, object_type="t", summary="a"
    )
    audit_record(
        actor=hospital_admin, action=AuditAction.REQUEST_REJECT, object_type="t", summary="r"
    )
    api_client.force_authenticate(hospital_admin)
    listed = api_client.get("/api/v1/audit-events/", {"action": "request.approve"})
    assert listed.status_code == 200
    assert [e["action"] for e in listed.json()["results"]] == ["request.approve"]
    for other in ("request", "banana", "request.approve.x"):
        refused = api_client.get("/api/v1/audit-events/", {"action": other})
        assert refused.status_code == 400, other
        assert "action" in str(refused.json()), other
