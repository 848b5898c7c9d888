"""WCAG 2.1 AA in a real browser (issue 15): axe-core runs in every main page as each role,
with data in them (a request at each state, findings, a signed consent, a dispensed cycle, an
adverse event and its reminder, a report export, a chain check), and finds no serious or
critical violation; the moderate and minor ones are printed. One browser context and one
sign-in per role, so the whole sweep is one test.

The physician's request form is completed from /requests/new/ to the submit button with the
keyboard alone (Tab, Enter, the arrow keys, Ctrl+A and typing; no click), through the skip
link of each page, and every control the Tab key reaches shows a focus ring."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit.tasks import audit_chain_verify_task
from evidence.models import Study
from evidence.services import studies_load_review
from followup.services import adverse_event_create
from pharmacy.rules import label_rules_load
from prescriptions.models import OffLabelRequest
from prescriptions.services import (
    evidence_attach,
    patient_create,
    request_create,
    request_transition,
)
from regulatory.loader import rules_load
from regulatory.models import Pathway
from regulatory.services import application_create, pathway_choose
from reports.selectors import ReportFilters
from reports.services import report_export_request
from tests.browser.axe import AxeCoreMissing, axe_core_install
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_journeys import _sign_in
from tests.factories import TEST_PASSWORD, HospitalFactory, UserFactory
from tests.pharmacy.conftest import approve, dispense_cycle_one
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN
from tests.regulatory.conftest import LISTING_648

pytestmark = [pytest.mark.browser]

# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (landmarks, heading order).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}
SERVER_ERROR = "/a-server-error/"
# The pages visited on purpose that answer an error (in the app's layout), by role ("*": any);
# every other page answers 200.
ERROR_PAGES = {
    ("*", "/no-such-page/"): 404,
    ("*", "/requests/999999/"): 404,
    ("*", SERVER_ERROR): 500,
    ("physician", "/reports/audit/"): 403,
    ("regulatory_officer", "/regulatory/rules/it_law_648/edit/"): 403,  # national rules
}

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                               summary: (n.failureSummary || '').slice(0, 300)})),
  }));
}"""
# htmx panels (hx-trigger="load") and swaps finish before axe looks at the page.
SETTLED = (
    "() => document.readyState === 'complete' && typeof axe !== 'undefined' && "
    "!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')"
)


def axe_script() -> str:
    try:
        return axe_core_install().read_text()
    except AxeCoreMissing as exc:
        pytest.fail(f"axe-core is needed for the accessibility tests: {exc}")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.wait_for_function(SETTLED)
    return list(page.evaluate(AXE_RUN, AXE_TAGS))


# --- The data: one hospital, each role, a request at each state ----------------------------


def _new_request(physician: Any, profile: dict[str, Any], **regimen: Any) -> OffLabelRequest:
    n = OffLabelRequest.objects.count() + 1  # one invented person per request
    patient = patient_create(
        actor=physician,
        profile=profile,
        mutations={"IDH2": "present", "TP53": "absent"},
        medications=regimen.pop("medications", [])
        or [{"drug_name": "aciclovir", "interaction": "none_known"}],
        identity={
            **IDENTITY,
            "given_name": f"Zebulina{'a' * n}",
            "national_id": f"ZZZINV58C54Z9{n:02d}X",
        },
    )
    request = request_create(actor=physician, patient=patient, fields={**REGIMEN, **regimen})
    evidence_attach(
        actor=physician,
        request=request,
        study=Study.objects.get(reference=82),
        note="IDH-mutated subgroup responded",
        rank=1,
    )
    request.refresh_from_db()
    return request


def _hospital_with_data() -> dict[str, Any]:
    studies_load_review()
    rules_load()
    label_rules_load()
    hospital = HospitalFactory.create(name="Invented Accessible Hospital", code="inv-a11y")
    users = {
        "physician": UserFactory.create(
            username="dr.a11y",
            first_name="Ada",
            last_name="Medica",
            hospital=hospital,
            role="physician",
        ),
        "pharmacist": UserFactory.create(
            username="ph.a11y",
            first_name="Pia",
            last_name="Farmacista",
            hospital=hospital,
            role="pharmacist",
        ),
        "hospital_admin": UserFactory.create(
            username="adm.a11y", hospital=hospital, role="hospital_admin"
        ),
        "regulatory_officer": UserFactory.create(
            username="reg.a11y", hospital=hospital, role="regulatory_officer"
        ),
        "rule_steward": UserFactory.create(
            username="steward.a11y", hospital=None, is_rule_steward=True, role="rule_steward"
        ),
    }
    physician, pharmacist = users["physician"], users["pharmacist"]

    draft = _new_request(physician, COMPLETE_PROFILE)
    pathway_choose(actor=physician, request=draft, pathway_code="gb_gmc_off_label")

    # In review with a blocking safety finding (a strong CYP3A inhibitor at the full dose).
    review = _new_request(
        physician,
        COMPLETE_PROFILE,
        medications=[{"drug_name": "posaconazole", "interaction": "strong_cyp3a_inhibitor"}],
    )
    pathway_choose(actor=physician, request=review, pathway_code="gb_gmc_off_label")
    for actor, transition in ((physician, "submit"), (pharmacist, "start_review")):
        review = request_transition(actor=actor, request=review, transition=transition)

    changes = _new_request(physician, COMPLETE_PROFILE)
    pathway_choose(actor=physician, request=changes, pathway_code="gb_gmc_off_label")
    for actor, transition in (
        (physician, "submit"),
        (pharmacist, "start_review"),
        (pharmacist, "request_changes"),
    ):
        changes = request_transition(
            actor=actor, request=changes, transition=transition, reason="Please add the ANC date."
        )

    # Italy, Law 648: awaiting the outside authorisation, an application prepared.
    law_648 = _new_request(physician, LISTING_648, jurisdiction="IT")
    pathway_choose(actor=physician, request=law_648, pathway_code="it_law_648")
    for actor, transition in (
        (physician, "submit"),
        (pharmacist, "start_review"),
        (pharmacist, "send_for_authorisation"),
    ):
        law_648 = request_transition(actor=actor, request=law_648, transition=transition)
    application_create(
        actor=pharmacist, request=law_648, body="aifa_registry", prepared_at=timezone.localdate()
    )

    # Approved (consent signed, checklist complete), cycle 1 dispensed, an adverse event
    # (a suspected reaction: its pharmacovigilance reminder is due soon).
    treated = _new_request(physician, COMPLETE_PROFILE)
    pathway_choose(actor=physician, request=treated, pathway_code="gb_gmc_off_label")
    treated = dispense_cycle_one(approve(treated, physician, pharmacist), pharmacist)
    adverse_event_create(
        actor=physician,
        request=treated,
        term="febrile_neutropenia",
        grade=3,
        onset_on=timezone.localdate(),
        outcome="recovering",
        relation="possibly",
    )
    report_export_request(actor=users["hospital_admin"], filters=ReportFilters())
    audit_chain_verify_task()
    return {
        "users": users,
        "draft": draft,
        "review": review,
        "changes": changes,
        "law_648": law_648,
        "treated": treated,
        "study": Study.objects.get(reference=82),
        "pathway": Pathway.objects.get(code="it_law_648"),
    }


def _pages(data: dict[str, Any]) -> dict[str, list[str]]:
    """Every main page each role reaches from its menu, at the states that open its panels."""
    draft, review, changes = data["draft"], data["review"], data["changes"]
    law_648, treated, study = data["law_648"], data["treated"], data["study"]
    today = timezone.localdate()
    detail = [
        reverse("requests:detail", args=[r.pk]) for r in (draft, review, changes, law_648, treated)
    ]
    pharmacy = [reverse("pharmacy:request", args=[r.pk]) for r in (review, law_648, treated)]
    shared = [
        reverse("home"),
        reverse("requests:dashboard"),
        reverse("requests:list"),
        reverse("followup:registry"),
        reverse("evidence:study-list"),
        reverse("evidence:study-detail", args=[study.pk]),
        reverse("regulatory:due-soon"),
        reverse("pharmacy:costs"),
        reverse("regulatory:rules"),
        reverse("password_change"),
        reverse("mfa-manage"),  # issue 16: the person's second factors
        "/requests/999999/",  # 404
    ]
    return {
        "physician": [
            *shared,
            *detail,
            *pharmacy,
            reverse("requests:new"),
            reverse("requests:step-patient", args=[draft.pk]),
            reverse("requests:step-regimen", args=[draft.pk]),
            reverse("requests:step-evidence", args=[draft.pk]),
            reverse("regulatory:step-pathway", args=[draft.pk]),
            reverse("requests:step-review", args=[draft.pk]),
            reverse("requests:patient-identity", args=[treated.patient_id]),
            reverse("reports:audit"),  # 403
        ],
        "pharmacist": [
            *shared,
            *detail,
            *pharmacy,
            reverse("requests:queue"),
            reverse("pharmacy:prices"),
            reverse("evidence:study-add"),
            reverse("evidence:study-edit", args=[study.pk]),
        ],
        "hospital_admin": [
            *shared,
            reverse("requests:detail", args=[treated.pk]),
            reverse("pharmacy:request", args=[treated.pk]),
            reverse("pharmacy:prices"),
            reverse("reports:report"),
            reverse("reports:report") + f"?date_from=2020-01-01&date_to={today}&state=active",
            reverse("reports:report") + f"?date_from={today}&date_to={today - timedelta(1)}",
            reverse("reports:audit"),
            reverse("reports:audit") + f"?reference={treated.reference}&action=request",
        ],
        "regulatory_officer": [
            reverse("home"),
            reverse("evidence:study-list"),
            reverse("evidence:study-detail", args=[study.pk]),
            reverse("evidence:study-add"),
            reverse("regulatory:rules"),
            reverse("regulatory:rule-edit", args=[data["pathway"].code]),  # 403
            reverse("password_change"),
        ],
        "rule_steward": [
            reverse("home"),
            reverse("regulatory:rules"),
            reverse("password_change"),
            reverse("regulatory:rule-edit", args=[data["pathway"].code]),
            reverse("regulatory:rule-edit", args=["gb_gmc_off_label"]),
        ],
    }


def _shows(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    """What a few pages must show, so that axe looks at pages with their data in them."""
    review, changes, treated = data["review"], data["changes"], data["treated"]
    return {
        ("pharmacist", reverse("requests:queue")): f"text={review.reference}",
        ("pharmacist", reverse("pharmacy:request", args=[review.pk])): ".severity-blocking",
        ("pharmacist", reverse("pharmacy:request", args=[treated.pk])): "#plan-cycles",
        ("physician", reverse("requests:detail", args=[changes.pk])): "text=Please add the ANC",
        ("physician", reverse("requests:detail", args=[treated.pk])): "#consent table",
        ("physician", reverse("regulatory:due-soon")): "main table.data tbody tr",
        ("physician", reverse("followup:registry")): "main table.data tbody tr",
        ("hospital_admin", reverse("reports:report")): "#exports table",
        ("hospital_admin", reverse("reports:audit")): "main table.data tbody tr",
    }


def _report(role: str, url: str, violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for v in violations:
        first = v["nodes"][0]
        lines.append(
            f"  [{v['impact']}] {role} {url}: {v['id']} ({v['help']}) x{len(v['nodes'])}: "
            f"{first['target']} {first['html']!r}"
        )
    return lines


@pytest.mark.django_db(transaction=True)
def test_every_main_page_as_each_role_has_no_serious_or_critical_axe_violation(
    live_server, page_for
):
    script = axe_script()
    started = time.monotonic()
    data = _hospital_with_data()
    built = time.monotonic()
    base = live_server.url
    shows = _shows(data)
    blocking: list[str] = []
    lesser: list[str] = []
    counts: dict[str, Counter[str]] = {}
    everything: list[dict[str, Any]] = []  # each node, in var/test-artifacts/axe-report.json
    visited = 0

    def check(role: str, page: Any, url: str) -> None:
        nonlocal visited
        response = page.goto(f"{base}{url}")
        expected = ERROR_PAGES.get((role, url), ERROR_PAGES.get(("*", url), 200))
        assert response.status == expected, (role, url, response.status)  # no error page unseen
        violations = axe_violations(page)
        if (role, url) in shows:
            assert page.locator(shows[role, url]).count(), f"{role} {url}: {shows[role, url]}"
        visited += 1
        everything.extend({"role": role, "url": url, **v} for v in violations)
        counts.setdefault(role, Counter()).update(f"{v['impact']}:{v['id']}" for v in violations)
        blocking.extend(
            _report(role, url, [v for v in violations if v["impact"] in BLOCKING_IMPACTS])
        )
        lesser.extend(
            _report(role, url, [v for v in violations if v["impact"] not in BLOCKING_IMPACTS])
        )

    anonymous = page_for()
    anonymous.context.add_init_script(script=script)
    check("anonymous", anonymous, reverse("login"))
    check("anonymous", anonymous, "/no-such-page/")
    check(
        "anonymous", anonymous, reverse("signing:verify")
    )  # issue 16: the public verification page
    # The 500 page as Django's server_error view renders it (no request, no context), served
    # at a URL of the live server so that its stylesheet loads as it would.
    anonymous.route(
        f"{base}{SERVER_ERROR}",
        lambda route: route.fulfill(
            status=500, content_type="text/html", body=render_to_string("500.html")
        ),
    )
    check("anonymous", anonymous, SERVER_ERROR)

    for role, urls in _pages(data).items():
        page = page_for()
        page.context.add_init_script(script=script)
        _sign_in(page, base, data["users"][role].username)
        for url in urls:
            check(role, page, url)

    elapsed = time.monotonic() - built
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-report.json").write_text(json.dumps(everything, indent=1))
    print(
        f"\naxe-core over {visited} pages as 5 roles and signed out: {elapsed:.1f} s "
        f"(data built in {built - started:.1f} s)"
    )
    for role, counter in counts.items():
        print(
            f"  {role}: " + (", ".join(f"{k} x{n}" for k, n in sorted(counter.items())) or "none")
        )
    print("Moderate and minor violations (not failing):")
    print("\n".join(sorted(set(lesser))) or "  none")
    assert not blocking, "serious or critical axe violations:\n" + "\n".join(sorted(set(blocking)))


# --- The request form with the keyboard alone ------------------------------------------------

FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return {
    tag: e.tagName.toLowerCase(), name: e.getAttribute('name') || '', type: e.type || '',
    text: (e.innerText || e.value || '').trim().replace(/\\s+/g, ' ').slice(0, 80),
    options: e.tagName === 'SELECT' ? Array.from(e.options).map(o => o.value) : [],
    index: e.tagName === 'SELECT' ? e.selectedIndex : -1,
    ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
  };
}"""


def _focused(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(FOCUSED))


def _tab_to(page: Any, wanted: Any, *, limit: int = 300) -> dict[str, Any]:
    """Tab until ``wanted(focused)``; every control on the way shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused["tag"] != "body":
            assert focused["ring"], f"no visible focus on {focused} at {page.url}"
        if wanted(focused):
            return focused
    raise AssertionError(f"{limit} presses of Tab never reached the control at {page.url}")


def _type_value(page: Any, focused: dict[str, Any], value: str) -> None:
    """Enter a value into the focused control the way a keyboard user does."""
    if focused["tag"] == "select":
        target = focused["options"].index(value)
        key = "ArrowDown" if target > focused["index"] else "ArrowUp"
        for _ in range(abs(target - focused["index"])):
            page.keyboard.press(key)
        assert _focused(page)["index"] == target, (focused["name"], value)
    elif focused["type"] == "date":  # the en-US picker's segments: month, day, year
        year, month, day = value.split("-")
        page.keyboard.type(f"{month}{day}{year}")
    else:
        page.keyboard.press("Control+A")
        page.keyboard.type(value)


def _skip_to_content(page: Any) -> None:
    """The first Tab of a page reaches the skip link; Enter moves on to the page's content."""
    if page.url.endswith("#main"):
        return  # a redirect after a form keeps the fragment: the page starts at its content
    page.keyboard.press("Tab")
    skip = _focused(page)
    assert skip["tag"] == "a" and skip["text"] == "Skip to the content" and skip["ring"], skip
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def _fill_by_tab(page: Any, values: dict[str, str], submit: str) -> None:
    """From the top of the page (or the field the page focuses itself), Tab through the form in
    its own order, entering each value met; Enter on the submit button."""
    left = dict(values)
    focused = _focused(page)
    if focused["name"] in left:  # autofocus (the sign-in page's user name)
        _type_value(page, focused, left.pop(focused["name"]))
    else:
        _skip_to_content(page)
    while left:
        focused = _tab_to(page, lambda f: f["name"] in left)
        _type_value(page, focused, left.pop(focused["name"]))
    _tab_to(page, lambda f: f["tag"] == "button" and f["text"] == submit)
    page.keyboard.press("Enter")


@pytest.mark.django_db(transaction=True)
def test_a_physician_completes_the_request_form_with_the_keyboard_alone(live_server, page_for):
    started = time.monotonic()
    studies_load_review()
    rules_load()
    label_rules_load()
    hospital = HospitalFactory.create(name="Invented Keyboard Hospital", code="inv-keys")
    UserFactory.create(username="dr.keys", hospital=hospital, role="physician")
    base = live_server.url
    page = page_for(locale="en-US")
    page.on("dialog", lambda dialog: dialog.accept())  # a confirmation answered with Enter
    # Signing in with the keyboard too.
    page.goto(f"{base}/accounts/login/")
    _fill_by_tab(page, {"username": "dr.keys", "password": TEST_PASSWORD}, "Sign in")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"{base}/requests/new/")
    profile = {k: str(v) for k, v in COMPLETE_PROFILE.items() if k != "age_years"}
    _fill_by_tab(
        page,
        {
            **profile,
            "mut_IDH2": "present",
            "med_0_name": "aciclovir",
            "identity-given_name": "Tastiera",
            "identity-family_name": "Inventata",
            "identity-date_of_birth": "1958-03-14",  # the age is taken from it
        },
        "Save and continue",
    )
    page.wait_for_url(lambda url: "/regimen/" in url)  # "#main" may follow
    regimen = {k: str(v) for k, v in REGIMEN.items()}
    _fill_by_tab(page, regimen, "Save and continue")
    page.wait_for_url(lambda url: "/evidence/" in url)  # "#main" may follow

    # Evidence: attach the top-ranked study (htmx swaps the panel), then on to the pathway.
    _skip_to_content(page)
    _tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Attach")
    page.keyboard.press("Enter")
    page.wait_for_selector("button:has-text('Remove')")
    page.keyboard.press("Tab")  # wherever the swap left the focus, on to the link
    _tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Continue to the regulatory pathway")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/pathway/" in url)  # "#main" may follow

    _skip_to_content(page)
    _tab_to(page, lambda f: f["tag"] == "button" and f["text"].startswith("Follow"))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/review/" in url)  # "#main" may follow

    _skip_to_content(page)
    _tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Submit to the pharmacy")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Submitted")

    request = OffLabelRequest.objects.get()
    assert request.status == "submitted"
    assert request.patient.medications.get().drug_name == "aciclovir"
    assert request.ven_target_dose_mg == Decimal(400) and request.jurisdiction == "GB"
    assert request.attachments.count() == 1
    print(f"\nthe request form with the keyboard alone: {time.monotonic() - started:.1f} s")
    assert page_for.problems == [], sorted(set(page_for.problems))
