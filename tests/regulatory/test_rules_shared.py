"""Issue 14, rules shared by hospitals: the national rules are changed only by a steward above
hospitals; a hospital adds its own stricter checklist items; every change reaches the audit
trail of every hospital it affects; a malformed checklist is a form error, never a 500."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role, is_rule_steward
from audit.models import AuditEvent
from evidence.models import Study
from offlabel.exceptions import ApplicationError, NotVisible
from prescriptions.services import evidence_attach, patient_create, request_create
from regulatory.models import ChecklistItem, LocalChecklistItem, Pathway, PathwayVersion
from regulatory.rules import checklist_validate, criteria_validate
from regulatory.services import (
    NationalRulesRefused,
    checklist_attest,
    checklist_unmet,
    local_item_add,
    local_item_deactivate,
    pathway_choose,
    pathway_version_edit,
)
from tests.factories import TEST_PASSWORD, HospitalFactory, UserFactory
from tests.prescriptions.conftest import REGIMEN
from tests.regulatory.conftest import LISTING_648
from tests.regulatory.editor_form import editor_data

LAW_648 = "it_law_648"


def _page_data(version: PathwayVersion, **overrides: Any) -> dict[str, Any]:
    # Issue 15: criteria and checklist items are rows of the form, as the page shows them.
    data = editor_data(version) | {
        "name": version.name,
        "summary": version.summary,
        "legal_source": version.legal_source,
        "verified_on": version.verified_on.isoformat(),
        "confirmed": "on" if version.confirmed else "",
        "unconfirmed_note": version.unconfirmed_note,
        "reimbursement": version.reimbursement,
        "authorising_body": version.authorising_body,
        "needs_outside_authorisation": "on" if version.needs_outside_authorisation else "",
        "change_note": "Checked against the Gazzetta Ufficiale on 2026-12-01 (invented, test).",
    }
    return {**data, **overrides}


def _index(items: list[dict[str, Any]], code: str) -> int:
    return next(n for n, item in enumerate(items) if item["code"] == code)


def _snapshot(code: str = LAW_648) -> list[tuple[Any, ...]]:
    return list(
        PathwayVersion.objects.filter(pathway__code=code)
        .order_by("version")
        .values_list("version", "is_current", "needs_outside_authorisation", "checklist")
    )


# --- The attack: a hospital's officer relaxes Law 648 for every hospital ------------------------


def test_an_officer_of_a_hospital_cannot_relax_law_648_on_the_page(
    client, regulatory_officer, rules
):
    before = _snapshot()
    current = Pathway.objects.get(code=LAW_648).current_version()
    assert current is not None and current.needs_outside_authorisation
    url = reverse("regulatory:rule-edit", args=[LAW_648])
    client.force_login(regulatory_officer)

    assert client.get(url).status_code == 403
    assert not AuditEvent.objects.filter(
        action="pathway.edit_refused"
    ).exists()  # a GET writes nothing

    relaxed = client.post(
        url,
        _page_data(
            current,
            needs_outside_authorisation="",
            **{f"checklist-{_index(current.checklist, 'registry_enrolment')}-DELETE": "on"},
            change_note="Outside authorisation no longer needed (attack)",
        ),
    )

    assert relaxed.status_code == 403
    assert "national rules steward" in relaxed.content.decode()
    assert _snapshot() == before
    refused = AuditEvent.objects.get(action="pathway.edit_refused")
    assert refused.actor == regulatory_officer
    assert refused.hospital_id == regulatory_officer.hospital_id
    assert refused.after == {"pathway": LAW_648, "via": "page"}
    assert not AuditEvent.objects.filter(action="pathway.version_created").exists()


def test_an_officer_of_a_hospital_cannot_relax_law_648_through_the_api(
    api_client, regulatory_officer, rules
):
    before = _snapshot()
    api_client.force_authenticate(regulatory_officer)
    response = api_client.post(
        reverse("api-pathway-versions", args=[LAW_648]),
        {"needs_outside_authorisation": False, "change_note": "No AIFA step any more (attack)"},
        format="json",
    )

    assert response.status_code == 403
    assert "national rules steward" in response.json()["detail"]
    assert _snapshot() == before
    refused = AuditEvent.objects.get(action="pathway.edit_refused")
    assert refused.actor == regulatory_officer and refused.after["via"] == "api"
    assert refused.hospital_id == regulatory_officer.hospital_id


def test_the_service_refuses_a_hospital_user_and_keeps_the_refusals_event(
    regulatory_officer, physician, rules
):
    pathway = Pathway.objects.get(code=LAW_648)
    for user in (regulatory_officer, physician):
        with pytest.raises(NationalRulesRefused):
            pathway_version_edit(
                actor=user,
                pathway=pathway,
                changes={"needs_outside_authorisation": False},
                change_note="attack",
            )
    assert AuditEvent.objects.filter(action="pathway.edit_refused").count() == 2
    assert pathway.versions.count() == 1


def test_the_steward_role_given_to_a_hospitals_user_does_not_make_a_steward(hospital, rules):
    officer = UserFactory.create(username="reg.bold", hospital=hospital, role=Role.RULE_STEWARD)
    assert not is_rule_steward(officer)
    with pytest.raises(NationalRulesRefused):
        pathway_version_edit(
            actor=officer,
            pathway=Pathway.objects.get(code=LAW_648),
            changes={"needs_outside_authorisation": False},
            change_note="attack",
        )
    # And a steward cannot belong to a hospital: the database refuses it.
    officer.is_rule_steward = True
    with pytest.raises(IntegrityError), transaction.atomic():
        officer.save()


def test_a_steward_belongs_to_no_hospital_and_sees_no_clinical_records(
    client, rule_steward, make_request
):
    assert rule_steward.hospital_id is None and is_rule_steward(rule_steward)
    make_request(LISTING_648)
    client.force_login(rule_steward)
    assert client.get(reverse("regulatory:rules")).status_code == 200
    assert client.get(reverse("requests:dashboard")).status_code == 403
    assert client.get("/api/v1/requests/").status_code == 403
    assert client.get("/api/v1/audit-events/").status_code == 403


# --- A steward's change reaches every hospital it affects --------------------------------------


def test_a_stewards_change_is_in_the_audit_trail_and_on_the_rules_page_of_each_affected_hospital(
    client, api_client, rule_steward, hospital, other_hospital, rules
):
    second_italian = HospitalFactory.create(name="Invented Second Hospital", code="inv-two")
    admins = {
        h.code: UserFactory.create(username=f"adm.{h.code}", hospital=h, role=Role.HOSPITAL_ADMIN)
        for h in (hospital, second_italian, other_hospital)
    }
    officer = UserFactory.create(username="reg.it", hospital=hospital, role=Role.REGULATORY_OFFICER)
    current = Pathway.objects.get(code=LAW_648).current_version()
    assert current is not None
    extra_item = {
        "code": "haematologist_second_opinion",
        "text": "A second haematologist agrees (invented for a test)",
        "kind": "attestation",
        "attesters": ["physician"],
    }

    api_client.force_authenticate(rule_steward)
    response = api_client.post(
        reverse("api-pathway-versions", args=[LAW_648]),
        {
            "checklist": [*current.checklist, extra_item],
            "change_note": "Second opinion added after the 2026 AIFA note (invented, test)",
            "reauth_password": TEST_PASSWORD,  # an edit is an electronic signature (issue 16)
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["version"] == current.version + 1
    steward_event = AuditEvent.objects.get(action="pathway.version_created")
    assert steward_event.actor == rule_steward and steward_event.hospital_id is None
    notified = AuditEvent.objects.filter(action="pathway.national_rules_changed")
    assert sorted(notified.values_list("hospital__code", flat=True)) == ["inv-gen", "inv-two"]
    event = notified.get(hospital=hospital)
    assert "Second opinion added" in event.summary and "Nora Regolare" in event.summary
    assert event.after is not None
    assert event.after["pathway"] == LAW_648 and "checklist" in event.after

    for code, sees in (("inv-gen", True), ("inv-two", True), ("inv-other", False)):
        api_client.force_authenticate(admins[code])
        listed = api_client.get(
            "/api/v1/audit-events/", {"action": "pathway.national_rules_changed"}
        )
        assert (listed.json()["count"] == 1) is sees, code
        client.force_login(admins[code])
        page = client.get(reverse("reports:audit"), {"action": "pathway."}).content.decode()
        assert ("Second opinion added" in page) is sees, code

    client.force_login(officer)
    rules_page = client.get(reverse("regulatory:rules")).content.decode()
    assert "National rules for" in rules_page and "by Nora Regolare" in rules_page
    assert "Second opinion added after the 2026 AIFA note" in rules_page
    assert reverse("regulatory:rule-edit", args=[LAW_648]) not in rules_page  # no edit link
    client.force_login(admins["inv-other"])
    french_page = client.get(reverse("regulatory:rules")).content.decode()
    assert "Second opinion added" not in french_page


def test_a_steward_edits_on_the_page(client, rule_steward, rules):
    pathway = Pathway.objects.get(code="gb_gmc_off_label")
    current = pathway.current_version()
    assert current is not None
    client.force_login(rule_steward)
    url = reverse("regulatory:rule-edit", args=[pathway.code])
    assert client.get(url).status_code == 200
    saved = client.post(url, _page_data(current, verified_on="2026-11-20"))
    assert saved.status_code == 302
    new = pathway.current_version()
    assert new is not None and new.version == current.version + 1
    unchanged = client.post(url, _page_data(new))
    assert unchanged.status_code == 200 and "Nothing changed" in unchanged.content.decode()


# --- An empty or malformed checklist is a form error / a 400, never a 500 ------------------------

DEEP = "[" * 50_000 + "]" * 50_000


def _item(**fields: Any) -> dict[str, Any]:
    return {
        "code": "x_item",
        "text": "An item",
        "kind": "attestation",
        "attesters": ["physician"],
    } | fields


MALFORMED_CHECKLISTS: dict[str, tuple[str, str]] = {
    # name: (the checklist JSON as typed, a part of the message)
    "empty list": ("[]", "The checklist is empty"),
    "item without text": (json.dumps([_item(text="")]), "text must be a non-empty text"),
    "item with no text key": (
        json.dumps([{"code": "x", "kind": "document"}]),
        "text must be a non-empty text",
    ),
    "invalid JSON": ('[{"code": "x", "text": ', "Not valid JSON"),
    "not a list": (json.dumps({"code": "x"}), "must be a list of items"),
    "item not an object": ('["just text"]', "must be an object"),
    "NaN": (
        '[{"code": "x", "text": "t", "kind": "automatic", "rule": '
        '{"fact": "age_years", "op": "lt", "value": NaN}}]',
        "Not valid JSON",
    ),
    "NUL character": (json.dumps([_item(text="bad\u0000text")]), "NUL character"),
    "repeated code": (json.dumps([_item(), _item()]), "the code is repeated"),
    "reserved local code": (json.dumps([_item(code="local-7")]), "lower-case letters"),
    "unknown kind": (json.dumps([_item(kind="magic")]), "kind must be"),
    "attesters not a list": (json.dumps([_item(attesters="physician")]), "attesters must be"),
    "attestation without attesters": (json.dumps([_item(attesters=[])]), "names who attests"),
    "text too long": (json.dumps([_item(text="x" * 401)]), "longer than 400"),
    "required not a boolean": (json.dumps([_item(required="yes")]), "required must be"),
    "list value not a list": (
        json.dumps(
            [_item(kind="automatic", rule={"fact": "regimen", "op": "in", "value": "azacitidine"})]
        ),
        "needs a list of values",
    ),
    "deeply nested": (DEEP, "nested too deeply"),
}


# Issue 15: the page edits rows, not JSON; what a row can hold wrong is refused on its row.
MALFORMED_ROWS: dict[str, tuple[dict[str, Any], str]] = {
    # name: (what is typed over checklist item 0, a part of the message)
    "item without text": ({"checklist-0-text": ""}, "This field is required."),
    "NUL character": ({"checklist-0-text": "bad\u0000text"}, "Null characters are not allowed."),
    "repeated code": ({"checklist-1-code": "individual_assessment"}, "has this code"),
    "reserved local code": ({"checklist-0-code": "local-7"}, "reserved for hospitals"),
    "unknown kind": ({"checklist-0-kind": "magic"}, "Select a valid choice."),
    "attestation without attesters": ({"checklist-0-attesters": []}, "names who attests"),
    "text too long": ({"checklist-0-text": "x" * 401}, "at most 400 characters"),
}


@pytest.mark.parametrize("case", list(MALFORMED_ROWS))
def test_a_malformed_checklist_is_a_form_error_on_the_page(client, rule_steward, rules, case):
    typed, message = MALFORMED_ROWS[case]
    pathway = Pathway.objects.get(code="gb_gmc_off_label")
    current = pathway.current_version()
    assert current is not None and current.checklist[0]["code"] == "individual_assessment"
    client.force_login(rule_steward)
    response = client.post(
        reverse("regulatory:rule-edit", args=[pathway.code]), _page_data(current, **typed)
    )
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert pathway.versions.count() == 1


def test_an_empty_checklist_is_a_form_error_on_the_page(client, rule_steward, rules):
    pathway = Pathway.objects.get(code="gb_gmc_off_label")
    current = pathway.current_version()
    assert current is not None
    client.force_login(rule_steward)
    removed = {f"checklist-{n}-DELETE": "on" for n in range(len(current.checklist))}
    response = client.post(
        reverse("regulatory:rule-edit", args=[pathway.code]), _page_data(current, **removed)
    )
    assert response.status_code == 200
    assert "The checklist is empty" in response.content.decode()
    assert pathway.versions.count() == 1


API_MALFORMED = {
    name: raw for name, (raw, _) in MALFORMED_CHECKLISTS.items() if name not in ("invalid JSON",)
}


@pytest.mark.parametrize("case", list(API_MALFORMED))
def test_a_malformed_checklist_is_a_400_on_the_api(api_client, rule_steward, rules, case):
    api_client.force_authenticate(rule_steward)
    body = '{"change_note": "test", "checklist": ' + API_MALFORMED[case] + "}"
    response = api_client.post(
        reverse("api-pathway-versions", args=["gb_gmc_off_label"]),
        body,
        content_type="application/json",
    )
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert Pathway.objects.get(code="gb_gmc_off_label").versions.count() == 1


def test_invalid_json_on_the_api_is_a_400(api_client, rule_steward, rules):
    api_client.force_authenticate(rule_steward)
    response = api_client.post(
        reverse("api-pathway-versions", args=["gb_gmc_off_label"]),
        '{"change_note": "test", "checklist": [',
        content_type="application/json",
    )
    assert response.status_code == 400 and "detail" in response.json()


def test_the_service_refuses_a_malformed_checklist_with_a_message(rule_steward, rules):
    with pytest.raises(ApplicationError, match="The checklist is empty") as refused:
        pathway_version_edit(
            actor=rule_steward,
            pathway=Pathway.objects.get(code=LAW_648),
            changes={"checklist": []},
            change_note="test",
        )
    assert "checklist" in refused.value.extra["fields"]


def test_every_pathway_of_the_data_file_passes_the_checks(rules):
    for version in PathwayVersion.objects.filter(is_current=True):
        checklist_validate(version.checklist)
        criteria_validate(version.criteria)


# --- A hospital's own stricter items --------------------------------------------------------------


def test_a_hospitals_local_item_is_added_to_its_own_requests_only_and_must_hold_to_approve(
    client, regulatory_officer, physician, pharmacist, make_request
):
    client.force_login(regulatory_officer)
    added = client.post(
        reverse("regulatory:local-item-add", args=[LAW_648]),
        {
            "text": "Drug committee chair countersigns (invented local rule)",
            "kind": "attestation",
            "attesters": ["pharmacist"],
            "reason": "Hospital policy 12/2026 (invented)",
        },
    )
    assert added.status_code == 302
    local = LocalChecklistItem.objects.get()
    assert local.hospital_id == regulatory_officer.hospital_id and local.active
    assert AuditEvent.objects.filter(
        action="pathway.local_item_added", hospital=regulatory_officer.hospital
    ).exists()
    assert (
        "Drug committee chair countersigns"
        in client.get(reverse("regulatory:rules")).content.decode()
    )

    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code=LAW_648)
    current = Pathway.objects.get(code=LAW_648).current_version()
    assert current is not None
    national = current.checklist
    codes = list(request.checklist.order_by("order").values_list("code", flat=True))
    assert codes == [*(i["code"] for i in national), local.code]  # added, nothing removed
    item = request.checklist.get(code=local.code)
    assert item.required and item.local_item == local

    # Another Italian hospital's request on the same pathway does not get it.
    elsewhere = HospitalFactory.create(name="Invented Third Hospital", code="inv-three")
    foreign_officer = UserFactory.create(
        username="reg.three", hospital=elsewhere, role=Role.REGULATORY_OFFICER
    )
    foreign_physician = UserFactory.create(
        username="dr.three", hospital=elsewhere, role=Role.PHYSICIAN
    )
    foreign_request = request_create(
        actor=foreign_physician,
        patient=patient_create(actor=foreign_physician, profile=LISTING_648),
        fields={**REGIMEN, "jurisdiction": "IT", "regimen": "azacitidine"},
    )
    evidence_attach(
        actor=foreign_physician, request=foreign_request, study=Study.objects.get(reference=63)
    )
    foreign_request.refresh_from_db()
    pathway_choose(actor=foreign_physician, request=foreign_request, pathway_code=LAW_648)
    assert not foreign_request.checklist.filter(local_item__isnull=False).exists()
    assert foreign_request.checklist.count() == len(national)
    client.force_login(foreign_officer)
    assert (
        "Drug committee chair countersigns"
        not in client.get(reverse("regulatory:rules")).content.decode()
    )
    with pytest.raises(NotVisible):
        local_item_deactivate(actor=foreign_officer, item=local)
    deactivate = reverse("regulatory:local-item-deactivate", args=[local.pk])
    assert client.post(deactivate).status_code == 404
    local.refresh_from_db()
    assert local.active  # the other hospital's officer changed nothing

    # Approval waits for the local item like for a national one (the "checklist_complete"
    # requirement of approve reads checklist_unmet).
    assert any("Drug committee chair countersigns" in u for u in checklist_unmet(request))
    with pytest.raises(ApplicationError, match="Only a pharmacist"):
        checklist_attest(actor=physician, item=item, note="not mine to attest")
    checklist_attest(actor=pharmacist, item=item, note="countersigned")
    assert not any("Drug committee chair countersigns" in u for u in checklist_unmet(request))


def test_a_local_item_can_be_deactivated_for_new_requests_and_built_checklists_keep_it(
    regulatory_officer, physician, make_request
):
    pathway = Pathway.objects.get(code=LAW_648)
    local = local_item_add(
        actor=regulatory_officer,
        pathway=pathway,
        text="Local pharmacy double-check of the ramp-up (invented)",
        kind="document",
        reason="Hospital policy (invented)",
    )
    built = make_request(LISTING_648)
    pathway_choose(actor=physician, request=built, pathway_code=LAW_648)
    local_item_deactivate(actor=regulatory_officer, item=local)
    with pytest.raises(ApplicationError, match="already inactive"):
        local_item_deactivate(actor=regulatory_officer, item=local)
    later = make_request(LISTING_648)
    pathway_choose(actor=physician, request=later, pathway_code=LAW_648)
    assert built.checklist.filter(code=local.code).exists()
    assert not later.checklist.filter(code=local.code).exists()
    assert AuditEvent.objects.filter(action="pathway.local_item_deactivated").count() == 1


def test_only_a_hospitals_officer_adds_local_items_and_they_only_add(
    rule_steward, physician, regulatory_officer, rules
):
    pathway = Pathway.objects.get(code=LAW_648)
    for user in (rule_steward, physician):
        with pytest.raises(ApplicationError, match="Only a regulatory officer"):
            local_item_add(actor=user, pathway=pathway, text="x", kind="attestation", reason="y")
    with pytest.raises(ApplicationError) as refused:
        local_item_add(
            actor=regulatory_officer, pathway=pathway, text=" ", kind="automatic", reason=""
        )
    assert set(refused.value.extra["fields"]) >= {"text", "kind", "reason"}
    assert not LocalChecklistItem.objects.exists()
    # There is no way to mark a local item optional: the checklist item is always required.
    assert "required" not in {f.name for f in LocalChecklistItem._meta.fields}


def test_local_items_through_the_api(api_client, regulatory_officer, other_hospital, rules):
    api_client.force_authenticate(regulatory_officer)
    url = reverse("api-local-items", args=[LAW_648])
    bad = api_client.post(url, {"text": "", "kind": "attestation", "reason": ""}, format="json")
    assert bad.status_code == 400
    created = api_client.post(
        url,
        {
            "text": "Second pharmacist checks the dose (invented)",
            "kind": "attestation",
            "attesters": ["pharmacist"],
            "reason": "Hospital policy (invented)",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["code"].startswith("local-")
    assert [i["text"] for i in api_client.get(url).json()] == [
        "Second pharmacist checks the dose (invented)"
    ]
    foreign = UserFactory.create(
        username="reg.fr", hospital=other_hospital, role=Role.REGULATORY_OFFICER
    )
    api_client.force_authenticate(foreign)
    assert api_client.get(url).json() == []
    item_id = created.json()["id"]
    deactivate = reverse("api-local-item-deactivate", args=[item_id])
    assert api_client.post(deactivate).status_code == 404
    api_client.force_authenticate(regulatory_officer)
    assert api_client.post(deactivate).status_code == 200
    assert api_client.post(deactivate).status_code == 409


def test_a_checklist_panel_marks_the_local_items(
    client, regulatory_officer, physician, make_request
):
    local_item_add(
        actor=regulatory_officer,
        pathway=Pathway.objects.get(code=LAW_648),
        text="Local countersignature (invented)",
        kind="attestation",
        attesters=["physician"],
        reason="Hospital policy (invented)",
    )
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code=LAW_648)
    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert "Local countersignature (invented)" in page and "local requirement" in page
    assert ChecklistItem.objects.filter(request=request, local_item__isnull=False).count() == 1


# --- Demo data ---------------------------------------------------------------------------------


def test_seed_demo_creates_a_demo_steward_above_hospitals(capsys, settings, db):
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    steward = User.objects.get(username="demo.steward")
    assert steward.hospital_id is None and is_rule_steward(steward)
    assert "demo.steward" in out and "rule_steward" in out
