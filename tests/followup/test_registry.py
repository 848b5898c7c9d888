"""The registry page: the hospital's own results, computed in the database, checked against
counts done in plain Python on a generated dataset; survival by hand; literature; scoping."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from followup.services import adverse_event_create, followup_update, response_assessment_create
from tests.followup.conftest import ae_fields, clopper_pearson, days_ago

# One row per patient: start (days ago), responses (days after start), adverse event grades,
# and follow-up (days after start). Invented, chosen so each figure has a different answer.
DATASET = [
    {"start": 300, "responses": [(30, "pr"), (60, "cr")], "grades": [3, 3], "death": 200},
    {"start": 280, "responses": [(28, "cri")], "grades": [4], "end": (90, "toxicity")},
    {"start": 250, "responses": [(30, "mlfs")], "grades": [1, 2], "contact": 240},
    {"start": 220, "responses": [(30, "no_response"), (60, "progression")], "grades": [5]},
    {"start": 200, "responses": [(30, "crh"), (150, "relapse")], "grades": [], "death": 180},
    {"start": 150, "responses": [], "grades": [2], "end": (40, "patient_choice")},
    {"start": 120, "responses": [(29, "progression")], "grades": [3, 4], "death": 70},
    {"start": 60, "responses": [(30, "pr")], "grades": [], "contact": 55},
]
OBJECTIVE = {"cr", "cri", "crh", "mlfs", "pr"}
COMPLETE = {"cr", "cri", "crh"}


def _load(rows, make_treated, physician):
    requests = []
    for row in rows:
        request = make_treated(row["start"])
        start = days_ago(row["start"])
        for after, response in row["responses"]:
            response_assessment_create(
                actor=physician,
                request=request,
                assessed_on=start + timedelta(days=after),
                response=response,
            )
        for i, grade in enumerate(row["grades"]):
            death = row.get("death")
            fatal = grade == 5
            onset = start + timedelta(days=10 + i)
            adverse_event_create(
                actor=physician,
                request=request,
                **ae_fields(
                    # Terms that define the grade in CTCAE v5.0 (febrile neutropenia is 3-5).
                    term="sepsis"
                    if fatal
                    else "febrile_neutropenia"
                    if grade >= 3
                    else "neutrophil_count_decreased",
                    grade=grade,
                    onset_on=onset,
                    outcome="fatal" if fatal else "recovered",
                    resolved_on=onset + timedelta(days=1),
                    serious=fatal or grade == 4,
                ),
            )
            assert not (fatal and death)
        fields = {}
        if "death" in row:
            fields["death_on"] = start + timedelta(days=row["death"])
        if "end" in row:
            fields["treatment_end_on"] = start + timedelta(days=row["end"][0])
            fields["treatment_end_reason"] = row["end"][1]
        if "contact" in row:
            fields["last_contact_on"] = start + timedelta(days=row["contact"])
        if fields:
            followup_update(actor=physician, request=request, fields=fields)
        requests.append(request)
    return requests


def _expected(rows):
    """The page's figures, counted in plain Python from the dataset itself."""
    n = len(rows)
    assessed = sum(1 for r in rows if r["responses"])
    orr = sum(1 for r in rows if {resp for _, resp in r["responses"]} & OBJECTIVE)
    complete = sum(1 for r in rows if {resp for _, resp in r["responses"]} & COMPLETE)
    grades = {g: sum(1 for r in rows if g in r["grades"]) for g in range(1, 6)}
    grade_3_plus = sum(1 for r in rows if any(g >= 3 for g in r["grades"]))
    ended = sum(1 for r in rows if "death" in r or "end" in r)
    return n, assessed, orr, complete, grades, grade_3_plus, ended


def test_registry_figures_match_plain_counts_of_the_dataset(
    client, pharmacist, physician, make_treated
):
    _load(DATASET, make_treated, physician)
    n, assessed, orr, complete, grades, grade_3_plus, ended = _expected(DATASET)
    assert (n, assessed, orr, complete) == (8, 7, 5, 3)  # the dataset is what it was meant to be
    client.force_login(pharmacist)
    response = client.get(reverse("followup:registry"))
    assert response.status_code == 200
    registry = response.context["registry"]
    assert registry.n_treated == n
    # Rates over the assessed requests; the one not yet assessed is counted apart.
    assert (registry.n_assessed, registry.not_assessed) == (assessed, n - assessed)
    assert (registry.orr.k, registry.orr.n) == (orr, assessed)
    assert (registry.complete.k, registry.complete.n) == (complete, assessed)
    for proportion, k in ((registry.orr, orr), (registry.complete, complete)):
        low, high = clopper_pearson(k, assessed)
        assert proportion.low == pytest.approx(low) and proportion.high == pytest.approx(high)
    by_label = {g.label: g.rate for g in registry.ae_by_grade}
    for grade, k in grades.items():
        assert by_label[f"Grade {grade}"].k == k and by_label[f"Grade {grade}"].n == n
        low, high = clopper_pearson(k, n)
        assert by_label[f"Grade {grade}"].low == pytest.approx(low)
    assert by_label["Grade ≥3 (any)"].k == grade_3_plus
    assert (registry.time_on_treatment.n, registry.time_on_treatment.deaths) == (n, ended)
    assert registry.ongoing == sum(1 for r in DATASET if "death" not in r and "end" not in r)
    page = response.content.decode()
    assert f"{orr} / {assessed} ({100 * orr / assessed:.1f}%)" in page
    assert f"n = {assessed} assessed of {n} treated" in page
    low, high = clopper_pearson(orr, assessed)
    assert f"{100 * low:.1f}–{100 * high:.1f}%" in page
    assert "CR/CRi</strong>: best response CR, CRi or CRh" in page  # the definition is stated


def test_adverse_event_rates_count_patients_not_events(client, pharmacist, physician, make_treated):
    rows = [
        {"start": 100, "responses": [], "grades": [3, 3, 3]},
        {"start": 90, "responses": [], "grades": [3]},
        {"start": 80, "responses": [], "grades": [2]},
        {"start": 70, "responses": [], "grades": []},
    ]
    _load(rows, make_treated, physician)
    client.force_login(pharmacist)
    registry = client.get(reverse("followup:registry")).context["registry"]
    by_label = {g.label: g.rate for g in registry.ae_by_grade}
    assert (by_label["Grade 3"].k, by_label["Grade 3"].n) == (2, 4)  # 4 grade-3 events
    assert by_label["Grade 2"].k == 1 and by_label["Grade 1"].k == 0
    assert by_label["Grade ≥3 (any)"].k == 2


def test_survival_curve_and_median_match_the_product_limit_by_hand(
    client, pharmacist, physician, make_treated
):
    # Days from start: deaths at 30, 60, 90, 150; alive at last contact on days 60 and 120.
    rows = [
        {"start": 200, "responses": [], "grades": [], "death": 30},
        {"start": 200, "responses": [], "grades": [], "death": 60},
        {"start": 200, "responses": [], "grades": [], "contact": 60},
        {"start": 200, "responses": [], "grades": [], "death": 90},
        {"start": 200, "responses": [], "grades": [], "contact": 120},
        {"start": 200, "responses": [], "grades": [], "death": 150},
    ]
    _load(rows, make_treated, physician)
    client.force_login(pharmacist)
    response = client.get(reverse("followup:registry"))
    curve = response.context["registry"].survival
    # Product-limit by hand: S = (1 - 1/6), then x (1 - 1/5), x (1 - 1/3), x (1 - 1/1).
    s30 = 1 - 1 / 6
    s60 = s30 * (1 - 1 / 5)
    s90 = s60 * (1 - 1 / 3)
    for day, expected in ((30, s30), (60, s60), (90, s90), (120, s90), (150, 0.0)):
        assert curve.survival_at(day) == pytest.approx(expected), day
    assert curve.median_days == 90  # first day S <= 0.5: 0.444 at day 90
    page = response.content.decode()
    assert '<img src="data:image/svg+xml;base64,' in page and "90 days (3.0 months)" in page


def test_the_registry_compares_with_published_figures_for_the_same_regimen(
    client, pharmacist, make_treated, studies
):
    make_treated(100, regimen="azacitidine")
    client.force_login(pharmacist)
    response = client.get(reverse("followup:registry"))
    groups = response.context["registry"].literature
    assert [g.regimen for g in groups] == ["azacitidine"]
    cited = {str(s.study) for s in groups[0].studies}
    assert "Lou 2020 [82]" in cited  # VEN + azacitidine in R/R AML
    assert "DiNardo 2020 [63]" not in cited  # VEN + decitabine 10-day
    page = response.content.decode()
    assert "ORR = 47.9%" in page and "Median OS = 9.6 months" in page  # the source's words
    filtered = client.get(reverse("followup:registry"), {"regimen": "decitabine_10"})
    assert filtered.context["registry"].n_treated == 0
    cited = {str(s.study) for s in filtered.context["registry"].literature[0].studies}
    assert "DiNardo 2020 [63]" in cited and "Lou 2020 [82]" not in cited


def test_the_literature_maps_the_broader_regimen_codes_and_shows_rr_ven_figures(
    client, pharmacist, make_treated, studies
):
    """Issue 13: studies coded "VEN + HMA" or "VEN + decitabine" (Aldoss 2019, Stahl, Morsia,
    Feld, DiNardo 2018, Tenold) compare with azacitidine or decitabine requests, marked with
    their broader code; each shows its ORR among R/R, VEN-treated patients with its population
    and words, or why it has none."""
    make_treated(100, regimen="azacitidine")
    client.force_login(pharmacist)
    response = client.get(reverse("followup:registry"))
    studies_shown = response.context["registry"].literature[0].studies
    by_name = {str(s.study): s for s in studies_shown}
    broader = {name for name, s in by_name.items() if s.broader_code == "ven_hma"}
    assert broader, "no VEN + HMA study compared with azacitidine"
    assert all(by_name[n].broader_label == "VEN + HMA (not specified)" for n in broader)
    page = html.unescape(response.content.decode())
    assert "ORR among R/R, VEN-treated patients" in page
    assert "47.9%" in page and "R/R AML, VEN-treated, n = 48" in page  # Lou 2020
    assert "coded “VEN + HMA (not specified)”" in page
    dec = client.get(reverse("followup:registry"), {"regimen": "decitabine_10"})
    dec_studies = dec.context["registry"].literature[0].studies
    assert any(s.broader_code in {"ven_dec", "ven_hma"} for s in dec_studies)


def test_filters_by_regimen_and_start_period_and_scope_to_the_hospital(
    client, pharmacist, make_treated, foreign_treated
):
    make_treated(100, regimen="azacitidine")
    make_treated(40, regimen="azacitidine")
    make_treated(20, regimen="ldac")
    client.force_login(pharmacist)
    url = reverse("followup:registry")
    assert client.get(url).context["registry"].n_treated == 3  # not the other hospital's
    assert client.get(url, {"regimen": "azacitidine"}).context["registry"].n_treated == 2
    period = {"started_from": days_ago(50).isoformat(), "started_to": days_ago(20).isoformat()}
    assert client.get(url, period).context["registry"].n_treated == 2
    assert client.get(url, {**period, "regimen": "ldac"}).context["registry"].n_treated == 1


def test_requests_not_yet_treated_are_not_counted(client, pharmacist, draft):
    client.force_login(pharmacist)
    assert client.get(reverse("followup:registry")).context["registry"].n_treated == 0


@pytest.mark.parametrize("who", ["pharmacist", "physician", "hospital_admin"])
def test_the_registry_page_is_for_pharmacists_physicians_and_administrators(
    who, client, request, make_treated
):
    make_treated(50)
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("followup:registry"))
    assert response.status_code == 200 and b"data:image/svg+xml;base64," in response.content


def test_a_user_without_the_role_is_refused(client, regulatory_officer, make_treated):
    make_treated(50)
    client.force_login(regulatory_officer)
    assert client.get(reverse("followup:registry")).status_code == 403
    assert client.get(reverse("followup:export-648")).status_code == 403
    client.logout()
    assert client.get(reverse("followup:registry")).status_code == 302  # to the login page


def test_registry_page_queries_do_not_grow_with_treated_requests(
    client, pharmacist, physician, make_treated, studies
):
    def add(count):
        for i in range(count):
            _load(
                [
                    {
                        "start": 100 + i,
                        "responses": [(30, "cr"), (60, "relapse")],
                        "grades": [3, 4],
                        "death": 90,
                    }
                ],
                make_treated,
                physician,
            )

    client.force_login(pharmacist)
    counts = {}
    for total, new in ((2, 2), (10, 8)):
        add(new)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("followup:registry"))
        assert response.status_code == 200
        assert response.context["registry"].n_treated == total
        # Two suspected adverse reactions each (grades 3 and 4, possibly related).
        assert len(response.context["reminders"]) == 2 * total
        counts[total] = len(queries.captured_queries)
    assert counts[2] == counts[10], counts
