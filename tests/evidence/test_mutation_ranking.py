"""Ranking behaviour the mutation run of evidence/ranking.py found unpinned.

Each test ranks small invented studies (not the review's) so that every weight can be checked
as a sum. The weights are those evidence/ranking.py documents: same regimen 3.0, a mixed
cohort's own result for the partner 2.25, a related regimen 1.5; a post-transplant or post-MPN
cohort 6.0, a post-transplant subgroup 2.5, some post-transplant patients 1.0; a mutation
cohort 4.0; secondary or primary refractory AML included 2.0; heavily pretreated 1.0; a
mutation subgroup 2.5 (a broader group 1.5); a prior-therapy subgroup 1.5; a cohort of other
patients -3.0; a case report counts half; design phase II 2.0, retrospective 1.0, case report
0; size 1.0 per tenfold patients (log10).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.utils import translation

from evidence.models import (
    Design,
    MutationFinding,
    Outcome,
    RegimenCode,
    SettingTag,
    Study,
    StudyRegimen,
    StudySetting,
)
from evidence.ranking import PatientFeatures, Suggestion, studies_rank

pytestmark = pytest.mark.django_db

AZA = PatientFeatures(regimen="azacitidine")
RETRO_10 = "Retrospective study of 10 patients."


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _study(
    author: str = "Invented",
    *,
    design: str = Design.RETROSPECTIVE,
    n: int = 10,
    n_rr: int | None = None,
    regimens: Sequence[str] = (RegimenCode.VEN_AZA,),
    tags: Sequence[str] = (),
    outcomes: Sequence[dict[str, Any]] = (),
    findings: Sequence[tuple[str, str, str]] = (),
    efficacy: str = "",
    population: str = "",
    reference: int | None = None,
) -> Study:
    study = Study.objects.create(
        origin=Study.Origin.ADDED,
        reference=reference,
        first_author=author,
        year=2022,
        design=design,
        n_patients=n,
        n_rr_aml=n_rr,
        efficacy_text=efficacy,
        population_text=population,
        source_passage="invented for a test",
    )
    for code in regimens:
        StudyRegimen.objects.create(study=study, code=code, text=str(code))
    for tag in tags:
        StudySetting.objects.create(study=study, tag=tag)
    for outcome in outcomes:
        Outcome.objects.create(
            study=study, **{"measure": "orr", "source": "publication", **outcome}
        )
    for gene, direction, wording in findings:
        MutationFinding.objects.create(
            study=study,
            gene=gene,
            direction=direction,
            effect="invented",
            wording=wording,
            source="publication",
        )
    return study


def _ranked(features: PatientFeatures, study: Study) -> Suggestion:
    (suggestion,) = studies_rank(features, [study])
    return suggestion


def _reasons(suggestion: Suggestion) -> list[str]:
    return [str(r) for r in suggestion.reasons]


# --- Evidence strength: design and size ----------------------------------------------------------


def test_same_regimen_retrospective_of_ten_scores_three_plus_one_plus_one():
    """Same regimen 3.0 + retrospective 1.0 + log10(10) = 1.0, and no other reason."""
    ranked = _ranked(AZA, _study())
    assert ranked.score == pytest.approx(5.0)
    assert _reasons(ranked) == ["Same regimen: VEN + azacitidine.", RETRO_10]


@pytest.mark.parametrize(
    ("design", "n", "expected", "sentence"),
    [
        (Design.PHASE_2, 100, 3.0 + 2.0 + 2.0, "Phase II trial of 100 patients."),
        (Design.PHASE_1B_2, 10, 3.0 + 2.0 + 1.0, "Phase Ib/II trial of 10 patients."),
        (Design.CASE_REPORT, 3, 3.0 + 0.0 + math.log10(3), "Case series of 3 patients."),
        (Design.CASE_REPORT, 1, 3.0 + 0.0 + 0.0, "Case report of a single patient."),
    ],
)
def test_a_trial_outranks_a_retrospective_series_which_outranks_a_case(
    design, n, expected, sentence
):
    ranked = _ranked(AZA, _study(design=design, n=n))
    assert ranked.score == pytest.approx(round(expected, 2))
    assert _reasons(ranked)[-1] == sentence


def test_size_counts_the_rr_patients_when_the_source_states_them():
    """ "a 168-patient cohort with 55 R/R patients is a 55-patient R/R cohort for this question"."""
    mixed = _ranked(AZA, _study(n=100, n_rr=10))
    assert mixed.score == pytest.approx(3.0 + 1.0 + 1.0)
    assert _reasons(mixed)[-1] == "Retrospective study of 100 patients (10 with R/R AML)."
    all_rr = _ranked(AZA, _study(n=10, n_rr=10))
    assert _reasons(all_rr)[-1] == RETRO_10
    assert _reasons(_ranked(AZA, _study(n=10, n_rr=None)))[-1] == RETRO_10


def test_a_negative_limit_is_refused():
    with pytest.raises(ValueError, match="limit must be zero or positive"):
        studies_rank(AZA, [_study()], limit=-1)


def test_equal_studies_are_ordered_by_their_row_whatever_order_they_come_in():
    first, second = _study("Same"), _study("Same")
    ranked = studies_rank(AZA, [second, first])
    assert [s.study for s in ranked] == [first, second]
    assert [s.rank for s in ranked] == [1, 2]


# --- Regimen ------------------------------------------------------------------------------------


def test_a_different_regimen_adds_nothing_and_says_so():
    ranked = _ranked(AZA, _study(regimens=[RegimenCode.VEN_FLAG_IDA]))
    assert ranked.score == pytest.approx(2.0)
    assert _reasons(ranked) == ["Different regimen: VEN + FLAG-Ida.", RETRO_10]


def test_ven_hma_is_a_related_regimen_for_azacitidine_worth_one_and_a_half():
    ranked = _ranked(AZA, _study(regimens=[RegimenCode.VEN_HMA]))
    assert ranked.score == pytest.approx(1.5 + 2.0)
    assert _reasons(ranked) == [
        "Related regimen: VEN + HMA (not specified); the HMA may or may not have been azacitidine.",
        RETRO_10,
    ]


def test_a_mixed_cohorts_own_azacitidine_result_counts_instead_of_the_class_match():
    """ "VEN + azacitidine" before "VEN + azacitidine or decitabine"; 2.25, the related
    regimen then 0."""
    study = _study(
        regimens=[RegimenCode.VEN_HMA],
        outcomes=[
            {"population": "VEN + azacitidine or decitabine", "wording": "ORR 40% on either"},
            {"population": "VEN + azacitidine", "wording": "ORR 50% on azacitidine"},
        ],
    )
    ranked = _ranked(AZA, study)
    assert ranked.score == pytest.approx(2.25 + 2.0)
    assert _reasons(ranked) == [
        "Related regimen: VEN + HMA (not specified); the HMA may or may not have been azacitidine.",
        "Reports a separate result for its VEN + azacitidine patients: 'ORR 50% on azacitidine'.",
        RETRO_10,
    ]


def test_an_azacitidine_subgroup_of_another_regimen_is_not_also_a_different_regimen():
    study = _study(
        regimens=[RegimenCode.VEN_DEC],
        outcomes=[{"population": "VEN + azacitidine", "wording": "ORR 50% on azacitidine"}],
    )
    ranked = _ranked(AZA, study)
    assert ranked.score == pytest.approx(2.25 + 2.0)
    assert _reasons(ranked) == [
        "Reports a separate result for its VEN + azacitidine patients: 'ORR 50% on azacitidine'.",
        RETRO_10,
    ]


# --- Relapse after allogeneic transplant ---------------------------------------------------------

AFTER_ALLO = PatientFeatures(regimen="azacitidine", disease_status="relapse_after_allo")


def test_a_whole_post_transplant_cohort_adds_six_and_quotes_its_result():
    study = _study(tags=[SettingTag.POST_TRANSPLANT_COHORT], efficacy="ORR 40%.")
    ranked = _ranked(AFTER_ALLO, study)
    assert ranked.score == pytest.approx(3.0 + 6.0 + 2.0)
    assert (
        "Post-transplant relapse cohort, like this patient; the review reports: 'ORR 40%.'"
        in _reasons(ranked)
    )


def test_a_donor_lymphocyte_cohort_is_a_post_transplant_cohort():
    """DLI "requires a prior allogeneic transplant": scope 'dli' even when tagged only as
    including post-transplant relapses."""
    study = _study(regimens=[RegimenCode.VEN_DLI], tags=[SettingTag.POST_TRANSPLANT_RELAPSE])
    ranked = _ranked(AFTER_ALLO, study)
    assert ranked.score == pytest.approx(0.0 + 6.0 + 2.0)
    assert any(
        r.startswith("Post-transplant relapse cohort, like this patient (every patient received")
        for r in _reasons(ranked)
    )


def test_a_mixed_cohorts_separate_post_transplant_result_adds_two_and_a_half():
    study = _study(
        tags=[SettingTag.POST_TRANSPLANT_RELAPSE],
        outcomes=[{"population": "prior allo-SCT", "wording": "CR 30% after prior allo-SCT"}],
    )
    ranked = _ranked(AFTER_ALLO, study)
    assert ranked.score == pytest.approx(3.0 + 2.5 + 2.0)
    assert (
        "Includes patients who relapsed after allogeneic transplant and reports their result "
        "separately (prior allo-SCT): 'CR 30% after prior allo-SCT'." in _reasons(ranked)
    )


def test_a_mixed_cohort_without_a_post_transplant_result_adds_one():
    ranked = _ranked(AFTER_ALLO, _study(tags=[SettingTag.POST_TRANSPLANT_RELAPSE]))
    assert ranked.score == pytest.approx(3.0 + 1.0 + 2.0)
    assert (
        "Includes some patients who relapsed after allogeneic transplant, without a separate "
        "result for them." in _reasons(ranked)
    )


def test_a_cohort_silent_about_transplant_gets_no_transplant_weight():
    ranked = _ranked(AFTER_ALLO, _study())
    assert ranked.score == pytest.approx(5.0)
    assert _reasons(ranked) == ["Same regimen: VEN + azacitidine.", RETRO_10]


def test_a_cohort_that_excluded_transplant_relapses_loses_three_for_this_patient():
    study = _study(
        tags=[SettingTag.POST_TRANSPLANT_EXCLUDED], population="R/R AML, no prior allo-SCT"
    )
    ranked = _ranked(AFTER_ALLO, study)
    assert ranked.score == pytest.approx(3.0 - 3.0 + 2.0)
    assert (
        "Excluded patients who relapsed after transplant, unlike this patient: "
        "'R/R AML, no prior allo-SCT'." in _reasons(ranked)
    )


def test_a_post_transplant_cohort_loses_three_only_for_a_patient_known_untransplanted():
    cohort = _study(tags=[SettingTag.POST_TRANSPLANT_COHORT])
    never = PatientFeatures(regimen="azacitidine", prior_allo_transplant=False)
    ranked = _ranked(never, cohort)
    assert ranked.score == pytest.approx(3.0 - 3.0 + 2.0)
    assert (
        "Post-transplant relapse cohort, but this patient has had no allogeneic transplant."
        in _reasons(ranked)
    )
    assert _ranked(AZA, cohort).score == pytest.approx(5.0)  # not known: neither way
    mixed = _study(tags=[SettingTag.POST_TRANSPLANT_RELAPSE])
    assert _ranked(never, mixed).score == pytest.approx(5.0)  # only includes some


# --- Other settings -----------------------------------------------------------------------------


def test_a_post_mpn_cohort_adds_six_for_post_mpn_aml_and_loses_three_for_de_novo():
    study = _study(tags=[SettingTag.POST_MPN])
    post_mpn = _ranked(PatientFeatures(regimen="azacitidine", aml_type="post_mpn"), study)
    assert post_mpn.score == pytest.approx(3.0 + 6.0 + 2.0)
    assert "Post-MPN AML cohort, like this patient." in _reasons(post_mpn)
    de_novo = _ranked(PatientFeatures(regimen="azacitidine", aml_type="de_novo"), study)
    assert de_novo.score == pytest.approx(3.0 - 3.0 + 2.0)
    assert _ranked(AZA, _study()).score == pytest.approx(5.0)


def test_a_tp53_cohort_adds_four_for_a_tp53_mutated_patient_and_loses_three_if_wild_type():
    study = _study(tags=[SettingTag.TP53_MUTATED])
    mutated = PatientFeatures(regimen="azacitidine", mutations_present=frozenset({"TP53"}))
    assert _ranked(mutated, study).score == pytest.approx(3.0 + 4.0 + 2.0)
    assert "TP53-mutated cohort, like this patient." in _reasons(_ranked(mutated, study))
    wild_type = PatientFeatures(regimen="azacitidine", mutations_absent=frozenset({"TP53"}))
    ranked = _ranked(wild_type, study)
    assert ranked.score == pytest.approx(3.0 - 3.0 + 2.0)
    assert "TP53-mutated cohort, but this patient is not TP53-mutated." in _reasons(ranked)


def test_a_case_report_tagged_tp53_is_not_a_cohort_selected_for_it():
    """ "Case reports carry these tags for individual patients, not as a selection"."""
    case = _study(design=Design.CASE_REPORT, n=1, tags=[SettingTag.TP53_MUTATED])
    wild_type = PatientFeatures(regimen="azacitidine", mutations_absent=frozenset({"TP53"}))
    assert _ranked(wild_type, case).score == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("tag", "features", "weight"),
    [
        (SettingTag.SECONDARY_AML, {"aml_type": "secondary"}, 2.0),
        (SettingTag.SECONDARY_AML, {"aml_type": "therapy_related"}, 2.0),
        (SettingTag.SECONDARY_AML, {"aml_type": "de_novo"}, 0.0),
        (SettingTag.PRIMARY_REFRACTORY, {"disease_status": "primary_refractory"}, 2.0),
        (SettingTag.PRIMARY_REFRACTORY, {"disease_status": "first_relapse"}, 0.0),
        (SettingTag.HEAVILY_PRETREATED, {"disease_status": "second_or_later_relapse"}, 1.0),
        (SettingTag.HEAVILY_PRETREATED, {"disease_status": "first_relapse"}, 0.0),
        (SettingTag.RR_AML, {"disease_status": "second_or_later_relapse"}, 0.0),
        (SettingTag.RR_AML, {"aml_type": "secondary"}, 0.0),
        (SettingTag.RR_AML, {"disease_status": "primary_refractory"}, 0.0),
    ],
)
def test_a_cohort_including_this_kind_of_patient_adds_its_setting_weight(tag, features, weight):
    ranked = _ranked(PatientFeatures(regimen="azacitidine", **features), _study(tags=[tag]))
    assert ranked.score == pytest.approx(5.0 + weight)


# --- Mutation subgroups -------------------------------------------------------------------------


def _with(*genes: str, absent: tuple[str, ...] = ()) -> PatientFeatures:
    return PatientFeatures(
        regimen="azacitidine",
        mutations_present=frozenset(genes),
        mutations_absent=frozenset(absent),
    )


def test_a_result_for_the_patients_exact_variant_adds_two_and_a_half():
    idh = _study(findings=[("IDH1/2", "favourable", "ORR 75% if IDH1/2.")])
    ranked = _ranked(_with("IDH1"), idh)
    assert ranked.score == pytest.approx(5.0 + 2.5)
    assert (
        "Reports a better outcome for IDH1/2-mutated patients (favourable): 'ORR 75% if IDH1/2.'"
        in _reasons(ranked)
    )
    itd = _study(findings=[("FLT3-ITD", "unfavourable", "OS shorter with FLT3-ITD")])
    assert _ranked(_with("FLT3_ITD"), itd).score == pytest.approx(5.0 + 2.5)


def test_a_result_for_a_broader_group_adds_one_and_a_half_and_says_which_way_it_went():
    study = _study(findings=[("FLT3", "unfavourable", "OS shorter with FLT3 mutation")])
    ranked = _ranked(_with("FLT3_ITD"), study)
    assert ranked.score == pytest.approx(5.0 + 1.5)
    assert (
        "Reports a worse outcome for FLT3-mutated patients (unfavourable): "
        "'OS shorter with FLT3 mutation'." in _reasons(ranked)
    )


def test_a_subgroup_counts_once_however_often_the_study_quotes_it():
    study = _study(
        findings=[
            ("IDH2", "favourable", "CR 60% with IDH2"),
            ("IDH1/2", "no_difference", "No difference by IDH1/2 status"),
        ]
    )
    ranked = _ranked(_with("IDH2"), study)
    assert ranked.score == pytest.approx(5.0 + 2.5)
    assert sum(1 for r in _reasons(ranked) if r.startswith("Reports")) == 2


def test_an_outcome_for_the_subgroup_is_quoted_once_without_a_direction():
    study = _study(
        outcomes=[
            {"population": "whole cohort", "wording": "ORR 40% overall"},
            {"population": "IDH1/2-mutated", "wording": "ORR 60% in IDH1/2"},
            {"population": "IDH2-mutated", "wording": "CR 50% with IDH2"},
        ],
        findings=[("IDH2", "favourable", "CR 50% with IDH2")],
    )
    ranked = _ranked(_with("IDH2"), study)
    assert ranked.score == pytest.approx(5.0 + 2.5)
    assert _reasons(ranked) == [
        "Same regimen: VEN + azacitidine.",
        "Reports a better outcome for IDH2-mutated patients (favourable): 'CR 50% with IDH2'.",
        "Reports a result for the subgroup IDH1/2-mutated (this patient is IDH2-mutated), "
        "without a stated direction: 'ORR 60% in IDH1/2'.",
        RETRO_10,
    ]


def test_an_outcome_for_the_exact_subgroup_counts_two_and_a_half():
    study = _study(outcomes=[{"population": "IDH2-mutated", "wording": "CR 50% with IDH2"}])
    assert _ranked(_with("IDH2"), study).score == pytest.approx(5.0 + 2.5)


def test_a_compound_subgroup_with_a_part_the_patient_lacks_is_not_this_patient():
    """ "A compound ("NPM1 + FLT3-ITD") needs every part not known absent"."""
    study = _study(findings=[("NPM1 + FLT3-ITD", "favourable", "CR 80% if NPM1 + FLT3-ITD")])
    assert _ranked(_with("NPM1", absent=("FLT3_ITD",)), study).score == pytest.approx(5.0)
    assert _ranked(_with("NPM1"), study).score == pytest.approx(5.0 + 2.5)


# --- Prior therapy ------------------------------------------------------------------------------


def test_a_prior_hma_result_says_worse_from_its_own_comparator_in_the_same_sentence():
    """ "Feld: 14.3% previously exposed vs 66.7% HMA-naive": the direction is read from the
    same sentence's comparator, never from another figure of the study."""
    sentence = "ORR 14% vs 63% if prior HMA vs HMA-naive"
    study = _study(
        outcomes=[
            {"population": "whole cohort", "wording": "ORR 10% overall", "value": 10},
            {"population": "prior HMA", "wording": sentence, "value": 14},
            {"population": "HMA-naive", "wording": sentence, "value": 63},
        ]
    )
    prior = _ranked(PatientFeatures(regimen="azacitidine", prior_hma=True), study)
    assert prior.score == pytest.approx(5.0 + 1.5)
    assert (
        "Reports a worse outcome for patients previously treated with an HMA, like this patient "
        f"(unfavourable): prior HMA: '{sentence}'." in _reasons(prior)
    )
    naive = _ranked(PatientFeatures(regimen="azacitidine", prior_hma=False), study)
    assert any(r.startswith("Reports a better outcome for HMA-naive") for r in _reasons(naive))


def test_a_prior_hma_patient_and_a_study_without_that_subgroup_adds_nothing():
    ranked = _ranked(PatientFeatures(regimen="azacitidine", prior_hma=True), _study())
    assert ranked.score == pytest.approx(5.0)


# --- The quoted headline result -----------------------------------------------------------------


def _cohort_reason(study: Study) -> str:
    features = PatientFeatures(regimen="azacitidine", aml_type="post_mpn")
    return next(r for r in _reasons(_ranked(features, study)) if r.startswith("Post-MPN"))


def test_an_efficacy_text_up_to_160_characters_is_quoted_whole():
    text = "ORR " + "x" * 155 + "."
    assert len(text) == 160
    quoted = _study(tags=[SettingTag.POST_MPN], efficacy=text)
    assert _cohort_reason(quoted) == (
        f"Post-MPN AML cohort, like this patient; the review reports: '{text}'"
    )
    longer = _study(tags=[SettingTag.POST_MPN], efficacy="ORR " + "x" * 156 + ".")
    assert _cohort_reason(longer) == "Post-MPN AML cohort, like this patient."


def test_a_table_figure_is_quoted_for_the_whole_cohort_and_only_up_to_300_characters():
    table = {"source": "table"}
    study = _study(
        tags=[SettingTag.POST_MPN],
        outcomes=[
            {**table, "population": "R/R subgroup", "wording": "CR 20% in R/R"},
            {**table, "population": "whole cohort", "wording": "CR 30% overall"},
        ],
    )
    assert _cohort_reason(study) == (
        "Post-MPN AML cohort, like this patient; the review reports: 'CR 30% overall'."
    )
    just_fits = "x" * 300
    fits = _study(tags=[SettingTag.POST_MPN], outcomes=[{**table, "wording": just_fits}])
    assert just_fits in _cohort_reason(fits)
    too_long = _study(tags=[SettingTag.POST_MPN], outcomes=[{**table, "wording": "x" * 301}])
    assert _cohort_reason(too_long) == "Post-MPN AML cohort, like this patient."
