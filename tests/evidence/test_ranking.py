"""Ranking the study database for one patient: relevance first, every reason traceable."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evidence.models import Design, Outcome, RegimenCode, SettingTag, Study, StudyRegimen
from evidence.ranking import PatientFeatures, Suggestion, studies_rank

POST_TRANSPLANT_COHORTS = {73, 74, 75, 76, 77, 91}  # Byrne, Vigil, Zucenka, Joshi, Zhao, Amit
QUOTE_RE = re.compile(r"'(.*)'\.?$")
NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")

PROFILES = [
    PatientFeatures(regimen="azacitidine", mutations_present=frozenset({"IDH2"})),
    PatientFeatures(regimen="azacitidine", disease_status="relapse_after_allo"),
    PatientFeatures(regimen="azacitidine", aml_type="post_mpn"),
    PatientFeatures(
        regimen="decitabine_10",
        disease_status="second_or_later_relapse",
        aml_type="secondary",
        mutations_present=frozenset({"TP53", "FLT3_ITD", "NPM1", "KRAS", "RUNX1", "IDH1"}),
        prior_hma=True,
        complex_karyotype=True,
    ),
    PatientFeatures(
        regimen="ldac",
        disease_status="first_relapse",
        mutations_present=frozenset({"NPM1", "SF3B1", "DNMT3A", "ASXL1", "TET2", "SRSF2"}),
        mutations_absent=frozenset({"TP53", "FLT3_ITD"}),
        prior_hma=False,
        prior_allo_transplant=False,
    ),
    PatientFeatures(regimen="other", disease_status="primary_refractory", aml_type="de_novo"),
]


def _by_reference(suggestions: list[Suggestion]) -> dict[int | None, Suggestion]:
    return {s.study.reference: s for s in suggestions}


def _quote(reason: str) -> str | None:
    match = QUOTE_RE.search(reason)
    return match.group(1) if match else None


def _stored_text(study: Study) -> str:
    """Everything stored for a study that a reason may repeat."""
    parts = [
        study.population_text,
        study.efficacy_text,
        study.get_design_display(),
        str(study.n_patients),
        str(study.n_rr_aml or ""),
    ]
    parts += [o.population for o in study.outcomes.all()]
    parts += [f.gene for f in study.mutation_findings.all()]
    parts += [r.get_code_display() for r in study.regimens.all()]
    parts += [t.get_tag_display() for t in study.settings.all()]
    return " ".join(parts)


def _quotable(study: Study) -> list[str]:
    words = [o.wording.strip() for o in study.outcomes.all()]
    words += [f.wording.strip() for f in study.mutation_findings.all()]
    return [*words, study.efficacy_text.strip(), study.population_text.strip()]


def test_idh2_patient_on_ven_aza_sees_lou_2020_near_the_top(studies: None) -> None:
    ranked = studies_rank(
        PatientFeatures(regimen="azacitidine", mutations_present=frozenset({"IDH2"}))
    )
    lou = _by_reference(ranked)[82]
    assert lou.rank <= 3
    assert "Same regimen: VEN + azacitidine." in lou.reasons
    assert any(
        "IDH1/2-mutated patients (favourable)" in r
        and "ORR = 75% if IDH1/2 mutations or RUNX1 mutation." in r
        for r in lou.reasons
    )


@pytest.mark.parametrize("regimen", ["azacitidine", "decitabine_10", "ldac", "flag_ida", "dli"])
def test_relapse_after_transplant_ranks_post_transplant_cohorts_above_general_cohorts(
    studies: None, regimen: str
) -> None:
    ranked = studies_rank(PatientFeatures(regimen=regimen, disease_status="relapse_after_allo"))
    ranks = {s.study.reference: s.rank for s in ranked}
    general = [
        s
        for s in ranked
        if SettingTag.POST_TRANSPLANT_RELAPSE not in {t.tag for t in s.study.settings.all()}
    ]
    assert general
    assert max(ranks[ref] for ref in POST_TRANSPLANT_COHORTS) < min(s.rank for s in general)
    for s in ranked:
        if s.study.reference in POST_TRANSPLANT_COHORTS:
            assert any(r.startswith("Post-transplant relapse cohort") for r in s.reasons)


def test_on_azacitidine_the_six_post_transplant_cohorts_are_the_top_six(studies: None) -> None:
    """Even mixed cohorts that include a few transplanted patients rank below them."""
    ranked = studies_rank(
        PatientFeatures(regimen="azacitidine", disease_status="relapse_after_allo")
    )
    assert {s.study.reference for s in ranked[:6]} == POST_TRANSPLANT_COHORTS
    mixed = _by_reference(ranked)[63]  # DiNardo 2020: 18 of 55 R/R patients had a prior SCT
    assert any("reports their result separately" in r for r in mixed.reasons)


def test_cohort_that_excluded_transplant_relapses_is_marked_down(studies: None) -> None:
    base = _by_reference(studies_rank(PatientFeatures(regimen="azacitidine")))[83]
    after_allo = _by_reference(
        studies_rank(PatientFeatures(regimen="azacitidine", prior_allo_transplant=True))
    )[83]
    assert after_allo.score < base.score
    assert any(
        r.startswith("Excluded patients who relapsed after transplant") for r in after_allo.reasons
    )


def test_post_mpn_patient_sees_masarova_first_with_its_absence_of_responses(
    studies: None,
) -> None:
    ranked = studies_rank(PatientFeatures(regimen="azacitidine", aml_type="post_mpn"))
    first = ranked[0]
    assert (first.study.reference, first.study.first_author) == (90, "Masarova")
    assert any("Post-MPN AML cohort" in r and "'No responses." in r for r in first.reasons)


def test_de_novo_patient_does_not_get_the_post_mpn_cohort_pushed_up(studies: None) -> None:
    plain = _by_reference(studies_rank(PatientFeatures(regimen="azacitidine")))[90]
    de_novo = _by_reference(
        studies_rank(PatientFeatures(regimen="azacitidine", aml_type="de_novo"))
    )[90]
    assert de_novo.score < plain.score


def test_tp53_patient_sees_the_tp53_cohort_high_with_directions_stated(studies: None) -> None:
    ranked = studies_rank(
        PatientFeatures(regimen="azacitidine", mutations_present=frozenset({"TP53"}))
    )
    by_ref = _by_reference(ranked)
    aldoss = by_ref[68]
    assert aldoss.study.first_author == "Aldoss" and aldoss.rank <= 3
    assert any(r.startswith("TP53-mutated cohort, like this patient") for r in aldoss.reasons)
    assert any(
        r.startswith("Reports a better outcome for TP53-mutated patients (more than one TP53")
        and "(favourable)" in r
        for r in aldoss.reasons
    )
    # Unfavourable evidence is shown, and called what it is.
    assert any(
        r.startswith("Reports a worse outcome for TP53-mutated patients (unfavourable)")
        and "OS significantly shorter = TP53 mutation" in r
        for r in by_ref[82].reasons
    )
    assert any("worse outcome" in r and "TP53" in r for r in by_ref[70].reasons)
    # A study reporting no difference says so rather than claiming a direction.
    assert any(
        r.startswith("Reports no difference in outcome for TP53") for r in by_ref[67].reasons
    )


def test_prior_hma_patient_sees_the_prior_hma_results(studies: None) -> None:
    ranked = _by_reference(studies_rank(PatientFeatures(regimen="azacitidine", prior_hma=True)))
    # The review: prior HMA exposure is unfavourable (Aldoss 14% vs 63%; Feld 14.3% vs 66.7%).
    assert any(
        r.startswith(
            "Reports a worse outcome for patients previously treated with an HMA, like this "
            "patient (unfavourable): prior HMA monotherapy"
        )
        and "Lower response = 14% vs. 63%, p = 0.025 if prior HMA monotherapy." in r
        for r in ranked[68].reasons
    )
    assert any(
        "worse outcome for patients previously treated with an HMA" in r
        and "(unfavourable)" in r
        and "14.3%" in r
        for r in ranked[79].reasons
    )
    naive = _by_reference(studies_rank(PatientFeatures(regimen="azacitidine", prior_hma=False)))
    assert any(
        "better outcome for HMA-naive patients, like this patient (favourable)" in r
        for r in naive[79].reasons
    )
    assert not any("HMA" in r and "outcome for" in r for r in naive[68].reasons)


def test_unfavourable_subgroup_makes_a_study_more_relevant_not_less(studies: None) -> None:
    plain = _by_reference(studies_rank(PatientFeatures(regimen="ldac")))[87]
    kras = _by_reference(
        studies_rank(PatientFeatures(regimen="ldac", mutations_present=frozenset({"KRAS"})))
    )[87]
    assert kras.score > plain.score
    assert any("worse outcome for KRAS/NRAS-mutated patients" in r for r in kras.reasons)


def test_compound_subgroup_is_not_quoted_when_the_patient_lacks_a_part(studies: None) -> None:
    without_itd = _by_reference(
        studies_rank(
            PatientFeatures(
                regimen="other",
                mutations_present=frozenset({"NPM1"}),
                mutations_absent=frozenset({"FLT3_ITD"}),
            )
        )
    )[71]
    assert not any("NPM1 + FLT3-ITD" in r for r in without_itd.reasons)
    assert any("longer OS = NPM1 mutation" in r for r in without_itd.reasons)


@pytest.mark.parametrize("features", PROFILES)
def test_every_suggestion_explains_itself(studies: None, features: PatientFeatures) -> None:
    ranked = studies_rank(features)
    assert len(ranked) == 32
    assert [s.rank for s in ranked] == list(range(1, 33))
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    for s in ranked:
        assert s.reasons and all(r.strip() for r in s.reasons)


@pytest.mark.parametrize("features", PROFILES)
def test_every_quote_and_number_in_a_reason_comes_from_that_study(
    studies: None, features: PatientFeatures
) -> None:
    for s in studies_rank(features):
        quotable = _quotable(s.study)
        stored = _stored_text(s.study)
        for reason in s.reasons:
            quote = _quote(reason)
            if quote is not None:
                assert quote in quotable, (str(s.study), reason)
            unquoted = QUOTE_RE.sub("", reason)
            for number in NUMBER_RE.findall(unquoted):
                assert number in stored, (str(s.study), reason, number)


def test_ranking_is_deterministic_and_honours_limit(studies: None) -> None:
    features = PROFILES[3]
    first = [(s.study.pk, s.score) for s in studies_rank(features)]
    again = [(s.study.pk, s.score) for s in studies_rank(features, Study.objects.order_by("-pk"))]
    assert first == again
    top = studies_rank(features, limit=5)
    assert [(s.study.pk, s.score) for s in top] == first[:5]
    assert [s.rank for s in top] == [1, 2, 3, 4, 5]
    assert studies_rank(features, limit=0) == []


def _added_study(author: str, *, reference: int | None, design: str, n: int) -> Study:
    study = Study.objects.create(
        origin=Study.Origin.ADDED,
        reference=reference,
        first_author=author,
        year=2022,
        design=design,
        n_patients=n,
        source_passage="invented for a test",
    )
    StudyRegimen.objects.create(study=study, code=RegimenCode.VEN_AZA, text="VEN + azacitidine")
    Outcome.objects.create(
        study=study, measure="orr", wording="ORR = 10%", source="publication", value=10
    )
    return study


def test_ties_break_by_design_then_size_then_reference(db: Any) -> None:
    later_ref = _added_study("Beta", reference=2, design=Design.RETROSPECTIVE, n=10)
    earlier_ref = _added_study("Alpha", reference=1, design=Design.RETROSPECTIVE, n=10)
    no_ref = _added_study("Aardvark", reference=None, design=Design.RETROSPECTIVE, n=10)
    ranked = studies_rank(PatientFeatures(regimen="azacitidine"))
    assert len({s.score for s in ranked}) == 1
    assert [s.study for s in ranked] == [earlier_ref, later_ref, no_ref]


def test_given_studies_only_those_are_ranked(studies: None) -> None:
    chosen = list(Study.objects.filter(reference__in=[82, 90, 68]))
    ranked = studies_rank(
        PatientFeatures(regimen="azacitidine", mutations_present=frozenset({"IDH1"})), chosen
    )
    assert [s.study.reference for s in ranked] == [82, 68, 90]


def test_number_of_queries_does_not_grow_with_the_number_of_studies(
    studies: None, django_assert_max_num_queries: Any
) -> None:
    features = PROFILES[3]
    with django_assert_max_num_queries(5):
        studies_rank(features)
    with CaptureQueriesContext(connection) as few:
        studies_rank(features, Study.objects.filter(reference__in=[82, 90]))
    for i in range(10):
        _added_study(f"Extra{i}", reference=None, design=Design.PHASE_2, n=20 + i)
    with CaptureQueriesContext(connection) as many:
        ranked = studies_rank(features)
    assert len(ranked) == 42
    assert len(many.captured_queries) == len(few.captured_queries) <= 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"regimen": "azacytidine"},
        {"regimen": "azacitidine", "disease_status": "relapsed"},
        {"regimen": "azacitidine", "aml_type": "mds"},
        {"regimen": "azacitidine", "mutations_present": frozenset({"FLT3"})},
        {
            "regimen": "azacitidine",
            "mutations_present": frozenset({"TP53"}),
            "mutations_absent": frozenset({"TP53"}),
        },
    ],
)
def test_misspelt_features_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PatientFeatures(**kwargs)


def test_a_case_report_is_not_called_a_cohort_and_counts_half(studies):
    features = PatientFeatures(
        regimen="azacitidine",
        disease_status="relapse_after_allo",
        prior_allo_transplant=True,
        mutations_present=frozenset({"IDH2"}),
    )
    ranked = {s.study.reference: s for s in studies_rank(features)}
    andreani = ranked[93]
    assert not any("cohort" in reason for reason in andreani.reasons)
    assert any("case report, like this patient" in reason for reason in andreani.reasons)
    for cohort in (73, 74, 76, 77):  # whole post-transplant cohorts outrank the single case
        assert ranked[cohort].rank < andreani.rank
