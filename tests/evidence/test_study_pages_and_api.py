"""Study list, detail, add/edit pages and the /api/v1/studies/ API, by role."""

import pytest
import yaml
from django.urls import reverse
from openapi_spec_validator import validate

from audit.models import AuditEvent
from evidence.models import Study

NEW_STUDY = {
    "first_author": "Invented",
    "year": "2024",
    "citation": "Invented A, et al. A made-up test publication. Test J. 2024;1:1. (not real)",
    "design": "retrospective",
    "design_text": "Retrospective study",
    "age_summary": "Median 65 (40-80)",
    "n_patients": "20",
    "n_rr_aml": "20",
    "population_text": "20 R/R AML",
    "interventions_text": "VEN + azacitidine",
    "orr_percent": "45",
    "efficacy_text": "ORR = 45%",
    "source_passage": "ORR = 45% in 20 R/R AML patients (invented for a test).",
    "settings_tags": ["rr_aml"],
    "regimen_codes": ["ven_aza"],
}


def test_physician_sees_the_32_studies(client, physician, studies):
    client.force_login(physician)
    page = client.get(reverse("evidence:study-list"))
    assert page.status_code == 200
    assert b"32 studies found" in page.content
    assert page.context["page"].paginator.num_pages == 2
    assert b"Konopleva" in page.content


def test_second_page_and_search(client, physician, studies):
    client.force_login(physician)
    second = client.get(reverse("evidence:study-list"), {"page": 2})
    assert len(second.context["page"].object_list) == 7
    found = client.get(reverse("evidence:study-list"), {"q": "konopleva"})
    assert [s.reference for s in found.context["page"].object_list] == [46]


@pytest.mark.parametrize(
    ("params", "must_include", "check"),
    [
        ({"design": "phase_1b_2"}, {64}, lambda s: s.design == "phase_1b_2"),
        ({"design": "phase_2"}, {46, 63}, lambda s: s.design == "phase_2"),
        (
            {"regimen": "ven_flag_ida"},
            {64},
            lambda s: s.regimens.filter(code="ven_flag_ida").exists(),
        ),
        ({"regimen": "ven_mono"}, {46}, lambda s: s.regimens.filter(code="ven_mono").exists()),
        (
            {"setting": "post_transplant_relapse"},
            set(),
            lambda s: s.settings.filter(tag="post_transplant_relapse").exists(),
        ),
        (
            {"gene": "TP53"},
            set(),
            lambda s: s.mutation_findings.filter(gene__icontains="TP53").exists(),
        ),
        ({"min_patients": "100"}, {63}, lambda s: s.n_patients >= 100),
    ],
)
def test_filters_on_the_page_and_the_api_agree(
    client, api_client, physician, studies, params, must_include, check
):
    client.force_login(physician)
    page = client.get(reverse("evidence:study-list"), {**params, "page": 1})
    page_refs = {s.reference for s in page.context["page"].paginator.object_list}
    api_client.force_authenticate(physician)
    body = api_client.get("/api/v1/studies/", {**params, "page_size": 100}).json()
    api_refs = {row["reference"] for row in body["results"]}
    while body["next"]:
        body = api_client.get(body["next"]).json()
        api_refs |= {row["reference"] for row in body["results"]}
    expected = {s.reference for s in Study.objects.all() if check(s)}
    assert page_refs == api_refs == expected
    assert must_include <= expected and expected, params


def test_htmx_filter_request_returns_only_the_results(client, physician, studies):
    client.force_login(physician)
    response = client.get(
        reverse("evidence:study-list"), {"design": "phase_2"}, HTTP_HX_REQUEST="true"
    )
    assert b"<html" not in response.content
    assert b"2 studies found" in response.content


def test_study_list_queries_do_not_grow_with_rows(
    client, physician, studies, django_assert_max_num_queries
):
    client.force_login(physician)
    # 12 for the page, plus the session's idle expiry renewed (at most once a minute).
    with django_assert_max_num_queries(15):
        client.get(reverse("evidence:study-list"))


def test_detail_page_shows_every_field_with_its_source(client, physician, studies):
    client.force_login(physician)
    study = Study.objects.get(reference=63)
    page = client.get(reverse("evidence:study-detail", args=[study.pk]))
    content = page.content.decode()
    assert "From the seed review, Table 1" in content
    assert "Source passage" in content
    for outcome in study.outcomes.all():
        assert outcome.wording[:30].replace("<", "&lt;").replace(">", "&gt;") in content.replace(
            "&#x27;", "'"
        )
    assert "Edit" not in content.split("</h1>")[0]


def test_api_list_is_paginated_and_detail_has_sourced_figures(api_client, physician, studies):
    api_client.force_authenticate(physician)
    listing = api_client.get("/api/v1/studies/").json()
    assert listing["count"] == 32 and len(listing["results"]) == 25 and listing["next"]
    pk = Study.objects.get(reference=46).pk
    detail = api_client.get(f"/api/v1/studies/{pk}/").json()
    assert detail["orr_percent"] == 19
    assert detail["outcomes"] and all(o["wording"] and o["source"] for o in detail["outcomes"])


def test_openapi_schema_validates_and_docs_are_served_locally(client, physician):
    client.force_login(physician)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    spec = yaml.safe_load(schema.content)
    validate(spec)
    assert "/api/v1/studies/" in spec["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar" in docs.content and b"cdn" not in docs.content.lower()


def test_pharmacist_adds_a_publication_and_it_is_audited(client, pharmacist, db):
    client.force_login(pharmacist)
    response = client.post(reverse("evidence:study-add"), NEW_STUDY)
    study = Study.objects.get(first_author="Invented")
    assert response.status_code == 302
    assert study.origin == Study.Origin.ADDED and study.orr_percent == 45
    assert list(study.regimens.values_list("code", flat=True)) == ["ven_aza"]
    event = AuditEvent.objects.get(action="study.created")
    assert event.actor == pharmacist and event.object_id == str(study.pk)
    assert event.ip_address == "127.0.0.1"


def test_regulatory_officer_edits_an_added_study_with_before_and_after(
    client, regulatory_officer, db
):
    client.force_login(regulatory_officer)
    client.post(reverse("evidence:study-add"), NEW_STUDY)
    study = Study.objects.get(first_author="Invented")
    client.post(reverse("evidence:study-edit", args=[study.pk]), {**NEW_STUDY, "orr_percent": "50"})
    study.refresh_from_db()
    assert study.orr_percent == 50
    event = AuditEvent.objects.get(action="study.updated")
    assert event.before == {"orr_percent": "45.0"} and event.after == {"orr_percent": "50"}


def test_missing_citation_is_refused_and_the_form_keeps_what_was_typed(client, pharmacist, db):
    client.force_login(pharmacist)
    response = client.post(reverse("evidence:study-add"), {**NEW_STUDY, "citation": ""})
    assert response.status_code == 200
    assert not Study.objects.exists()
    assert b"Nothing you typed has been lost" in response.content
    assert b'value="Invented"' in response.content


def test_review_rows_are_read_only(client, pharmacist, studies):
    client.force_login(pharmacist)
    study = Study.objects.get(reference=46)
    response = client.post(reverse("evidence:study-edit", args=[study.pk]), NEW_STUDY, follow=True)
    assert b"read-only" in response.content
    study.refresh_from_db()
    assert study.first_author == "Konopleva"


@pytest.mark.parametrize("fixture", ["physician", "hospital_admin"])
def test_physicians_and_administrators_cannot_add_studies(client, request, fixture):
    client.force_login(request.getfixturevalue(fixture))
    assert client.get(reverse("evidence:study-add")).status_code == 403
    assert client.post(reverse("evidence:study-add"), NEW_STUDY).status_code == 403
    assert not Study.objects.exists()


def test_list_names_each_regimen_of_a_study_once(client, physician, studies):
    client.force_login(physician)
    page = client.get(reverse("evidence:study-list"), {"regimen": "ven_dli"})
    row = page.content.decode().split(">Ram 2019<")[1].split("</tr>")[0]
    assert row.count("VEN + donor lymphocyte infusion") == 1


def test_schema_generates_without_warnings():
    """drf-spectacular's warnings also fail ``check --deploy``; keep the schema clean."""
    from tests.helpers import run_manage

    result = run_manage("spectacular", "--fail-on-warn", "--file", "/dev/null")
    assert result.returncode == 0, result.stderr
