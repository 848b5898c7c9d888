"""Evidence by population: every figure says whose figure it is, and R/R ranges hold R/R,
VEN-treated figures only (issue 13, section 1). The source of every figure is the seed review."""

import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from evidence.models import RRExclusion, Study
from prescriptions.models import OffLabelRequest
from prescriptions.services import evidence_attach, patient_create, request_create
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

ROOT = Path(__file__).resolve().parents[2]
REVIEW_TEXT = (ROOT / "evidence" / "data" / "venetoclax-rr-aml-review.txt").read_text()


def _squash(text: str) -> str:
    return re.sub(r"[\s\-\u2013\u2212]+", "", text).lower()


SQUASHED_REVIEW = _squash(REVIEW_TEXT)


def _export() -> dict[int, dict]:
    out = io.StringIO()
    call_command("export_studies", stdout=out)
    return {row["reference"]: row for row in json.loads(out.getvalue())}


@pytest.fixture
def request_with(physician, studies, rules):
    """A draft request with the given review studies attached (by reference)."""

    def build(*references: int) -> OffLabelRequest:
        patient = patient_create(
            actor=physician,
            profile=COMPLETE_PROFILE,
            mutations={"IDH2": "present"},
            medications=[],
            identity=IDENTITY,
        )
        request = request_create(actor=physician, patient=patient, fields=REGIMEN)
        for ref in references:
            evidence_attach(
                actor=physician, request=request, study=Study.objects.get(reference=ref), note=""
            )
        request.refresh_from_db()
        return request

    return build


def _summary(api_client, physician, request: OffLabelRequest) -> dict:
    api_client.force_authenticate(physician)
    response = api_client.get(f"/api/v1/requests/{request.pk}/evidence-summary/")
    assert response.status_code == 200, response.content
    return response.json()


def test_dinardo_2020_counts_its_55_rr_patients_at_62_percent_not_the_whole_cohort(
    api_client, physician, request_with
):
    summary = _summary(api_client, physician, request_with(63))
    assert [Decimal(str(v)) for v in summary["orr_range"]] == [Decimal("62"), Decimal("62")]
    assert summary["n_patients"] == 55
    assert summary["orr_population"] == "R/R AML, VEN-treated, n = 55"
    (figure,) = summary["rr"]["orr"]["figures"]
    assert figure["n"] == 55 and figure["population"] == "R/R AML, VEN-treated, n = 55"
    assert "62% (n = 34/55" in figure["wording"]
    assert "74" not in summary["sentence"] and "168" not in summary["sentence"]
    # The whole-cohort CR/CRi (61% of 168) is not an R/R figure.
    assert summary["cr_cri_range"] is None


def test_maiti_counts_only_the_65_patients_given_ven(api_client, physician, request_with):
    """The review: '65 R/R patients compared to 130 patients receiving IC' (no VEN)."""
    summary = _summary(api_client, physician, request_with(89))
    assert summary["n_patients"] == 65
    assert [Decimal(str(v)) for v in summary["orr_range"]] == [Decimal("60"), Decimal("60")]
    assert summary["rr"]["orr"]["figures"][0]["population"] == "R/R AML, VEN-treated, n = 65"
    assert "195" not in summary["sentence"]


def test_zucenka_counts_only_the_ven_arm(api_client, physician, request_with):
    summary = _summary(api_client, physician, request_with(75))
    assert summary["n_patients"] == 20
    assert summary["rr"]["cr_cri"]["figures"][0]["value"] == 70


def test_subgroups_and_mixed_cohorts_stay_out_of_the_cr_cri_range(
    api_client, physician, request_with
):
    # Aldoss 2020: 42% in R/R AML, not 60% (with treatment-naive) nor 37% (prior FLT3-TKI).
    # Stahl 2021: 24% in 86 R/R patients.
    summary = _summary(api_client, physician, request_with(69, 87))
    assert [Decimal(str(v)) for v in summary["cr_cri_range"]] == [Decimal("24"), Decimal("42")]
    assert summary["cr_cri_population"] == "R/R AML, VEN-treated, n = 119"
    # Aldoss 2020 has no R/R ORR: it is left out of the ORR range, and says why.
    assert [Decimal(str(v)) for v in summary["orr_range"]] == [Decimal("31"), Decimal("31")]
    assert summary["n_patients"] == 86
    (excluded,) = summary["excluded"]
    assert excluded["reference"] == 69 and excluded["reason_code"] == "mixed_no_rr_orr"


def test_a_mixed_population_study_is_left_out_of_the_rr_range_with_the_reason_on_the_page(
    client, api_client, physician, request_with
):
    # Konopleva 2016: ORR 19% of 32 patients, 30 of them R/R: no R/R-only figure.
    # DiNardo 2021: per-phase ORRs mixing newly diagnosed and R/R patients.
    request = request_with(46, 64, 82)
    summary = _summary(api_client, physician, request)
    assert [Decimal(str(v)) for v in summary["orr_range"]] == [Decimal("47.9"), Decimal("47.9")]
    assert summary["n_patients"] == 48 and summary["n_studies"] == 3
    assert {(e["reference"], e["reason_code"]) for e in summary["excluded"]} == {
        (46, "mixed_population"),
        (64, "mixed_population"),
    }
    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    reason = str(RRExclusion.MIXED_POPULATION.label)
    assert reason == "mixed population: no R/R-specific figure"
    assert "Konopleva 2016 [46]</strong>: " + reason in page
    assert "DiNardo 2021 [64]</strong>: " + reason in page
    assert "R/R AML, VEN-treated, n = 48" in page
    evidence_step = client.get(reverse("requests:step-evidence", args=[request.pk]))
    assert reason in evidence_step.content.decode()


def test_a_study_with_no_responses_counts_as_zero_in_the_rr_range(
    api_client, physician, request_with
):
    summary = _summary(api_client, physician, request_with(90, 66))
    assert [Decimal(str(v)) for v in summary["orr_range"]] == [Decimal("0"), Decimal("64")]
    assert summary["n_patients"] == 17 + 33


def test_export_has_the_rr_orr_next_to_the_whole_cohort_orr(studies):
    rows = _export()
    assert all("orr_rr_percent" in row and "orr_percent" in row for row in rows.values())
    assert (rows[63]["orr_percent"], rows[63]["orr_rr_percent"]) == (74, 62)
    assert rows[63]["n_rr_ven_treated"] == 55
    assert (rows[89]["orr_rr_percent"], rows[89]["n_rr_ven_treated"]) == (60, 65)
    # 'No responses.' (Masarova 2021) is 0; a study the review gives no R/R ORR for is null.
    assert rows[90]["orr_rr_percent"] == 0 and rows[90]["orr_percent"] is None
    assert rows[64]["orr_rr_percent"] is None and rows[64]["rr_exclusion"] == "mixed_population"
    assert rows[46]["orr_rr_percent"] is None and rows[46]["orr_percent"] == 19


def test_every_rr_figure_quotes_the_review_and_states_its_number(studies):
    """Each R/R figure and patient count traces to words really in the review, which state it."""
    problems = []
    for study in Study.objects.filter(origin=Study.Origin.REVIEW):
        for value, wording in (
            (study.orr_rr_percent, study.orr_rr_wording),
            (study.cr_cri_rr_percent, study.cr_cri_rr_wording),
            (study.n_rr_ven_treated, study.n_rr_ven_treated_wording),
        ):
            if value is None:
                assert not wording, study
                continue
            if _squash(wording) not in SQUASHED_REVIEW:
                problems.append(f"{study}: {wording!r} not in the review")
            number = format(Decimal(value).normalize(), "f")
            # The review writes 0 as "No responses." and a single case as "Patient with ...".
            stated = (
                number in wording
                or (value == 0 and wording.lower().startswith("no "))
                or (value == 1 and wording.lower().startswith("patient "))
            )
            if not stated:
                problems.append(f"{study}: {number} not in {wording!r}")
    assert not problems, "\n".join(problems)


def test_every_study_without_an_rr_orr_says_why(studies):
    without = Study.objects.filter(origin=Study.Origin.REVIEW, orr_rr_percent=None)
    assert without.exists()
    assert not without.filter(rr_exclusion="").exists()
    assert not without.filter(rr_exclusion=RRExclusion.NOT_KEYED).exists()
    with_rr = Study.objects.filter(origin=Study.Origin.REVIEW).exclude(orr_rr_percent=None)
    assert not with_rr.exclude(rr_exclusion="").exists()
    assert not with_rr.filter(n_rr_ven_treated=None).exists()


def test_a_study_added_without_an_rr_figure_is_not_in_the_rr_range(
    api_client, physician, pharmacist, request_with
):
    from evidence.services import study_create

    study = study_create(
        actor=pharmacist,
        fields={
            "first_author": "Invented",
            "year": 2025,
            "citation": "Invented et al. (test, not real)",
            "design": "phase_2",
            "n_patients": 30,
            "orr_percent": 40,
            "source_passage": "ORR 40% (invented)",
        },
        settings_tags=["rr_aml"],
        regimen_codes=["ven_aza"],
    )
    assert study.rr_exclusion == RRExclusion.NOT_KEYED
    request = request_with()
    evidence_attach(actor=physician, request=request, study=study, note="")
    summary = _summary(api_client, physician, request)
    assert summary["orr_range"] is None and summary["n_patients"] == 0
    assert summary["excluded"][0]["reason_code"] == "not_keyed"


def test_an_old_snapshot_without_rr_figures_is_left_out_not_guessed(
    api_client, physician, request_with
):
    request = request_with(82)
    attachment = request.attachments.get()
    snapshot = {k: v for k, v in attachment.snapshot.items() if "rr" not in k}
    type(attachment).objects.filter(pk=attachment.pk).update(snapshot=snapshot)
    summary = _summary(api_client, physician, request)
    assert summary["orr_range"] is None
    assert summary["excluded"][0]["reason_code"] == "not_keyed"
