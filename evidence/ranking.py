"""Rank the study database for one patient: which published VEN evidence fits this patient best.

A study's score is a sum of named weights (below). Every weight that moved a study adds one
plain-language reason, so a physician can see why a study ranks where it does. Figures are only
ever quoted from the stored source wording: the ranking never computes or restates a number
(apart from the stored patient counts).

The ranking weighs relevance to *this* patient (same partner regimen, same clinical setting, a
reported subgroup the patient belongs to) above the strength of the evidence (design, size), so a
small cohort of exactly this kind of patient outranks a large cohort of different patients.
Unfavourable findings count as much as favourable ones: a study that reports how the patient's
subgroup fared is relevant whichever way the result went, and the reason says which way it went.

The reasons are in the reader's language; each keeps its English words (``reason.english``) for
the record a request keeps of the studies attached to it, like the audit trail. Wording quoted
from a source stays as the source wrote it, in every language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet, prefetch_related_objects
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from evidence.models import (
    DESIGN_LEVEL,
    Design,
    MutationFinding,
    Outcome,
    RegimenCode,
    SettingTag,
    Study,
)
from offlabel.i18n import Bilingual

# --- What a request may say about the patient ------------------------------------------------

REGIMENS = frozenset(
    [
        "azacitidine",
        "decitabine_5",
        "decitabine_10",
        "ldac",
        "flag_ida",
        "dli",
        "monotherapy",
        "other",
    ]
)
DISEASE_STATUSES = frozenset(
    ["primary_refractory", "first_relapse", "second_or_later_relapse", "relapse_after_allo"]
)
AML_TYPES = frozenset(["de_novo", "secondary", "therapy_related", "post_mpn"])
GENES = frozenset(
    [
        "IDH1",
        "IDH2",
        "NPM1",
        "FLT3_ITD",
        "FLT3_TKD",
        "TP53",
        "RUNX1",
        "ASXL1",
        "TET2",
        "SRSF2",
        "DNMT3A",
        "KRAS",
        "NRAS",
        "SF3B1",
    ]
)
# Complex karyotype is a yes/no field of the request, but the review reports it like a mutation
# subgroup ("complex karyotype + TP53"), so it is matched as one more patient feature.
COMPLEX_KARYOTYPE = "complex_karyotype"

# --- Weights ----------------------------------------------------------------------------------
# The largest evidence-strength gap between two studies is design (2.0) + size (~2.3 between a
# single case and ~200 patients). Setting weights that define "this kind of patient" are set
# above that gap plus a full regimen match, so evidence strength only orders studies that are
# equally relevant.

# Same partner drug and schedule: the closest evidence for the treatment being requested.
REGIMEN_EXACT_WEIGHT = 3.0
# A mixed-regimen cohort that reports its own result for the requested partner (e.g. the
# VEN + azacitidine patients of a "VEN + HMA" cohort): better than a class match, still mixed.
REGIMEN_SUBGROUP_WEIGHT = 2.25
# Same drug class but partner or schedule unstated (VEN + HMA for azacitidine; decitabine of
# unstated schedule; ACTIVE, which contains LDAC): relevant, but the exact regimen is not known.
REGIMEN_PARTIAL_WEIGHT = 1.5

# Relapse after allogeneic transplant is a different disease setting (prior conditioning,
# graft-versus-leukaemia, DLI as a partner). A cohort made only of such patients must outrank
# every general R/R cohort, whatever its regimen, design or size: 6.0 > 3.0 + 2.0 + ~1.
POST_TRANSPLANT_COHORT_WEIGHT = 6.0
# A mixed cohort that reports the result of its post-transplant patients separately: their own
# number exists, but from a handful of patients inside a general cohort.
POST_TRANSPLANT_SUBGROUP_WEIGHT = 2.5
# A mixed cohort that merely includes some post-transplant patients, with no separate result.
POST_TRANSPLANT_INCLUDED_WEIGHT = 1.0
# Post-MPN AML does badly on VEN (the review's only post-MPN cohort had no responses); a
# physician treating it must see that cohort first, so it weighs like the transplant setting.
POST_MPN_COHORT_WEIGHT = 6.0
# A cohort selected for the patient's mutation (TP53, FLT3, NPM1, IDH): all of its numbers are
# about the patient's subgroup, but the setting is less decisive than transplant or post-MPN.
MUTATION_COHORT_WEIGHT = 4.0
# Cohorts that include (not consist of) primary refractory or secondary AML.
SETTING_INCLUDED_WEIGHT = 2.0
# Heavily pretreated cohorts, for a patient in second or later relapse.
HEAVILY_PRETREATED_WEIGHT = 1.0

# A reported result for the patient's mutation subgroup (any direction), once per feature.
MUTATION_SUBGROUP_WEIGHT = 2.5
# The same, when the study names only a broader group (FLT3 without ITD/TKD, RAS, adverse
# cytogenetics for a complex karyotype): it may or may not be about the patient's variant.
MUTATION_SUBGROUP_BROAD_WEIGHT = 1.5
# A separate result for the patient's prior therapy (prior HMA or HMA-naive) or salvage line.
PRIOR_THERAPY_SUBGROUP_WEIGHT = 1.5

# A cohort selected for a feature this patient is known NOT to have (TP53 cohort for a TP53
# wild-type patient, post-MPN cohort for de novo AML, a cohort that excluded post-transplant
# relapses for a patient relapsing after transplant): its numbers describe other patients.
COHORT_MISMATCH_PENALTY = 3.0
# A case report "of this kind of patient" counts half a cohort of them.
CASE_REPORT_SETTING_FACTOR = 0.5

# Prospective trials above retrospective series above single cases (the review's own hierarchy).
DESIGN_WEIGHTS: dict[str, float] = {
    Design.PHASE_2: 2.0,
    Design.PHASE_1B_2: 2.0,
    Design.RETROSPECTIVE: 1.0,
    Design.CASE_REPORT: 0.0,
}
# Per tenfold patients (log10): 10 patients = 1.0, 100 = 2.0, so size orders equally relevant
# studies but cannot swamp relevance. Counts the R/R AML patients when the source states them:
# a 168-patient cohort with 55 R/R patients is a 55-patient R/R cohort for this question.
SIZE_WEIGHT_PER_LOG10 = 1.0

# --- Mapping the request to the data's spelling -----------------------------------------------


@dataclass(frozen=True)
class _RegimenMatch:
    exact: frozenset[str]
    partial: dict[str, StrOrPromise]  # code -> why it only partly matches
    subgroup: re.Pattern[str] | None  # outcome population naming this partner in a mixed cohort


_HMA_MAY_BE_AZA = _("the HMA may or may not have been azacitidine")
_HMA_MAY_BE_DEC = _("the HMA may or may not have been decitabine")
_DEC_SCHEDULE_UNSTATED = _("same drug, but the schedule is not known")
REGIMEN_MATCHES: dict[str, _RegimenMatch] = {
    "azacitidine": _RegimenMatch(
        exact=frozenset({RegimenCode.VEN_AZA}),
        partial={RegimenCode.VEN_HMA: _HMA_MAY_BE_AZA},
        subgroup=re.compile(r"^VEN[\s+-]+azacitidine\b", re.IGNORECASE),
    ),
    # Decitabine subgroups of mixed cohorts never state the schedule, so they add nothing over
    # the partial match of the cohort's code.
    "decitabine_5": _RegimenMatch(
        exact=frozenset({RegimenCode.VEN_DEC_5}),
        partial={RegimenCode.VEN_DEC: _DEC_SCHEDULE_UNSTATED, RegimenCode.VEN_HMA: _HMA_MAY_BE_DEC},
        subgroup=None,
    ),
    "decitabine_10": _RegimenMatch(
        exact=frozenset({RegimenCode.VEN_DEC_10}),
        partial={RegimenCode.VEN_DEC: _DEC_SCHEDULE_UNSTATED, RegimenCode.VEN_HMA: _HMA_MAY_BE_DEC},
        subgroup=None,
    ),
    "ldac": _RegimenMatch(
        exact=frozenset({RegimenCode.VEN_LDAC}),
        partial={RegimenCode.VEN_ACTIVE: _("it contains low-dose cytarabine")},
        subgroup=re.compile(r"^VEN[\s+-]+LDAC\b", re.IGNORECASE),
    ),
    "flag_ida": _RegimenMatch(frozenset({RegimenCode.VEN_FLAG_IDA}), {}, None),
    "dli": _RegimenMatch(frozenset({RegimenCode.VEN_DLI}), {}, None),
    "monotherapy": _RegimenMatch(frozenset({RegimenCode.VEN_MONO}), {}, None),
    "other": _RegimenMatch(frozenset(), {}, None),
}

# The data says how a cohort relates to transplant: 'post_transplant_relapse' only means it
# includes such patients (DiNardo 2020 [63]: 18 of its 55 R/R patients); 'post_transplant_cohort'
# means every patient relapsed after an allogeneic transplant; 'post_transplant_excluded' means
# they were excluded (Morsia 2020 [83]).

# Setting tags that select a cohort for a mutation, and the request's genes they cover.
MUTATION_COHORT_TAGS: dict[str, frozenset[str]] = {
    SettingTag.TP53_MUTATED: frozenset({"TP53"}),
    SettingTag.FLT3_MUTATED: frozenset({"FLT3_ITD", "FLT3_TKD"}),
    SettingTag.NPM1_MUTATED: frozenset({"NPM1"}),
    SettingTag.IDH_MUTATED: frozenset({"IDH1", "IDH2"}),
}

# How genes and karyotype are spelled in findings and outcome populations -> the request's
# features, and whether the spelling is specific to them (False: a broader group).
_SUBGROUP_TOKENS: dict[str, tuple[frozenset[str], bool]] = {
    "IDH1/2": (frozenset({"IDH1", "IDH2"}), True),
    "IDH1/IDH2": (frozenset({"IDH1", "IDH2"}), True),
    "IDH": (frozenset({"IDH1", "IDH2"}), True),
    "IDH1": (frozenset({"IDH1"}), True),
    "IDH2": (frozenset({"IDH2"}), True),
    "FLT3-ITD": (frozenset({"FLT3_ITD"}), True),
    "FLT3/ITD": (frozenset({"FLT3_ITD"}), True),
    "FLT3-TKD": (frozenset({"FLT3_TKD"}), True),
    "FLT3": (frozenset({"FLT3_ITD", "FLT3_TKD"}), False),
    "KRAS/NRAS": (frozenset({"KRAS", "NRAS"}), True),
    "RAS": (frozenset({"KRAS", "NRAS"}), False),
    "COMPLEX KARYOTYPE": (frozenset({COMPLEX_KARYOTYPE}), True),
    # A complex karyotype is adverse cytogenetics under ELN, but not the other way round.
    "ADVERSE CYTOGENETICS": (frozenset({COMPLEX_KARYOTYPE}), False),
    **{gene: (frozenset({gene}), True) for gene in GENES if "_" not in gene},
}
_TOKEN_RE = re.compile(
    r"\b("
    + "|".join(re.escape(t) for t in sorted(_SUBGROUP_TOKENS, key=len, reverse=True))
    + r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# "NPM1 + FLT3-ITD", "complex karyotype and TP53 mutations": every named feature together.
_COMPOUND_RE = re.compile(r" \+ | and |co-mutat", re.IGNORECASE)
# Populations that name a gene but are not its carriers.
_NOT_CARRIERS_RE = re.compile(r"wild-type|^comparator", re.IGNORECASE)

_PRIOR_HMA_RE = re.compile(r"\b(prior|previous|previously exposed to)\b[\w\s-]*\bHMA", re.I)
_HMA_NAIVE_RE = re.compile(r"\bHMA-na[iï]ve", re.IGNORECASE)
_PRIOR_ALLO_RE = re.compile(
    r"^(?!no\b).*(\b(prior|previous)\s+allo|\bprevious SCT\b|\brelapsed after allo)", re.I
)
_SALVAGE_LINE_RE: dict[str, re.Pattern[str]] = {
    "primary_refractory": re.compile(r"\bfirst salvage\b", re.IGNORECASE),
    "first_relapse": re.compile(r"\bfirst salvage\b", re.IGNORECASE),
    "second_or_later_relapse": re.compile(r"\bsecond salvage\b", re.IGNORECASE),
}

# A cohort's headline result is quoted whole when it is short; otherwise its first Table 1 figure,
# unless that is a long per-patient narrative (case series), which the study page shows instead.
_SHORT_EFFICACY_CHARS = 160
_LONGEST_COHORT_QUOTE_CHARS = 300

_DESIGN_PHRASE: dict[str, StrOrPromise] = {
    Design.PHASE_2: _("Phase II trial"),
    Design.PHASE_1B_2: _("Phase Ib/II trial"),
    Design.RETROSPECTIVE: _("Retrospective study"),
    Design.CASE_REPORT: _("Case series"),
}
_PREFETCH = ("regimens", "settings", "mutation_findings", "outcomes")
_AND = _(" and ")


# --- Public interface -------------------------------------------------------------------------


# A reason in the language it is read in, keeping its English words for the record.
Reason = Bilingual


def _phrase(template: str, **params: object) -> StrOrPromise:
    """A part of a reason (``template`` marked with gettext_noop), rendered in the language of
    the reason that holds it."""
    return lazy(lambda: gettext(template) % params, str)()


@dataclass(frozen=True)
class PatientFeatures:
    regimen: str  # one of REGIMENS
    disease_status: str | None = None  # one of DISEASE_STATUSES, or None (unknown)
    aml_type: str | None = None  # one of AML_TYPES, or None
    mutations_present: frozenset[str] = frozenset()  # gene codes from GENES
    mutations_absent: frozenset[str] = frozenset()
    prior_hma: bool | None = None  # prior azacitidine or decitabine
    prior_venetoclax: bool | None = None
    prior_allo_transplant: bool | None = None
    complex_karyotype: bool | None = None

    def __post_init__(self) -> None:
        """Reject misspelt values: a typo in a gene would otherwise silently match nothing."""
        if self.regimen not in REGIMENS:
            raise ValueError(
                f"Unknown regimen {self.regimen!r}; expected one of {sorted(REGIMENS)}"
            )
        if self.disease_status is not None and self.disease_status not in DISEASE_STATUSES:
            raise ValueError(f"Unknown disease status {self.disease_status!r}")
        if self.aml_type is not None and self.aml_type not in AML_TYPES:
            raise ValueError(f"Unknown AML type {self.aml_type!r}")
        unknown = (set(self.mutations_present) | set(self.mutations_absent)) - GENES
        if unknown:
            raise ValueError(f"Unknown gene codes {sorted(unknown)}; expected codes from GENES")
        both = set(self.mutations_present) & set(self.mutations_absent)
        if both:
            raise ValueError(f"Genes both present and absent: {sorted(both)}")


@dataclass(frozen=True)
class Suggestion:
    study: Study
    score: float
    reasons: tuple[Reason, ...]  # plain-language sentences: why it ranks where it does
    rank: int  # 1-based position


def studies_rank(
    features: PatientFeatures, studies: Iterable[Study] | None = None, *, limit: int | None = None
) -> list[Suggestion]:
    """Rank the study database for this patient, best first.

    studies=None ranks every Study row. The related rows are prefetched, so the number of
    queries is the same for 3 studies or 300. Ties are broken by design level, then size
    (n_patients, larger first), then the review's reference number, so the order never depends
    on the database's row order.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be zero or positive")
    scored = [_study_score(features, study) for study in _studies_prefetched(studies)]
    scored.sort(key=lambda item: _sort_key(item[0], item[1]))
    if limit is not None:
        scored = scored[:limit]
    return [
        Suggestion(study=study, score=score, reasons=tuple(reasons), rank=position)
        for position, (study, score, reasons) in enumerate(scored, start=1)
    ]


# --- Scoring ----------------------------------------------------------------------------------


def _relapsed_after_transplant(features: PatientFeatures) -> bool:
    return features.disease_status == "relapse_after_allo" or features.prior_allo_transplant is True


def _features_present(features: PatientFeatures) -> frozenset[str]:
    extra = {COMPLEX_KARYOTYPE} if features.complex_karyotype is True else set()
    return frozenset(features.mutations_present) | extra


def _features_absent(features: PatientFeatures) -> frozenset[str]:
    extra = {COMPLEX_KARYOTYPE} if features.complex_karyotype is False else set()
    return frozenset(features.mutations_absent) | extra


class _Tally:
    """Score and reasons of one study; a weight never moves the score without a reason."""

    def __init__(self) -> None:
        self.score = 0.0
        self.reasons: list[Reason] = []
        self.quoted: set[str] = set()

    def add(self, weight: float, reason: Reason) -> None:
        self.score += weight
        self.reasons.append(reason)

    def quote(self, weight: float, prefix: StrOrPromise, wording: str) -> None:
        """A reason ending in the source's own words (one quotation per reason)."""
        wording = wording.strip()
        self.quoted.add(wording)
        if wording.endswith("."):
            template = gettext_noop("%(reason)s: '%(wording)s'")
        else:
            template = gettext_noop("%(reason)s: '%(wording)s'.")
        self.add(weight, Reason(template, reason=prefix, wording=wording))


def _studies_prefetched(studies: Iterable[Study] | None) -> list[Study]:
    if studies is None:
        return list(Study.objects.prefetch_related(*_PREFETCH))
    if isinstance(studies, QuerySet):
        return list(studies.prefetch_related(*_PREFETCH))
    rows = list(studies)
    prefetch_related_objects(rows, *_PREFETCH)
    return rows


def _sort_key(study: Study, score: float) -> tuple[float, int, int, bool, int, str, int]:
    return (
        -score,
        -DESIGN_LEVEL.get(study.design, 0),
        -study.n_patients,
        study.reference is None,
        study.reference or 0,
        study.first_author,
        study.pk or 0,
    )


def _study_score(features: PatientFeatures, study: Study) -> tuple[Study, float, list[Reason]]:
    tally = _Tally()
    tags = {setting.tag for setting in study.settings.all()}
    _score_regimen(tally, features, study)
    _score_post_transplant(tally, features, study, tags)
    _score_other_settings(tally, features, study, tags)
    _score_mutation_subgroups(tally, features, study)
    _score_prior_therapy_subgroups(tally, features, study)
    _score_evidence(tally, study)
    return study, round(tally.score, 2), tally.reasons


def _score_regimen(tally: _Tally, features: PatientFeatures, study: Study) -> None:
    match = REGIMEN_MATCHES[features.regimen]
    codes = list(dict.fromkeys(regimen.code for regimen in study.regimens.all()))
    exact = [code for code in codes if code in match.exact]
    if exact:
        tally.add(
            REGIMEN_EXACT_WEIGHT,
            Reason(gettext_noop("Same regimen: %(regimen)s."), regimen=RegimenCode(exact[0]).label),
        )
        return
    partial = [code for code in codes if code in match.partial]
    subgroup = None
    if match.subgroup is not None:
        pattern = match.subgroup
        candidates = [o for o in study.outcomes.all() if pattern.search(o.population)]
        # "VEN + azacitidine" before "VEN + azacitidine or decitabine".
        candidates.sort(key=lambda o: " or " in o.population)
        subgroup = candidates[0] if candidates else None
    if partial:
        code = partial[0]
        weight = 0.0 if subgroup is not None else REGIMEN_PARTIAL_WEIGHT
        tally.add(
            weight,
            Reason(
                gettext_noop("Related regimen: %(regimen)s; %(why)s."),
                regimen=RegimenCode(code).label,
                why=match.partial[code],
            ),
        )
    if subgroup is not None:
        tally.quote(
            REGIMEN_SUBGROUP_WEIGHT,
            _phrase(
                gettext_noop("Reports a separate result for its %(population)s patients"),
                population=subgroup.population,
            ),
            subgroup.wording,
        )
        return
    if partial:
        return
    labels = _listed([RegimenCode(code).label for code in codes], ", ") if codes else _("not coded")
    if features.regimen == "other":
        template = gettext_noop(
            "Regimen not compared (the planned partner is not coded): %(regimens)s."
        )
    else:
        template = gettext_noop("Different regimen: %(regimens)s.")
    tally.add(0.0, Reason(template, regimens=labels))


def _listed(items: list[StrOrPromise], separator: StrOrPromise) -> StrOrPromise:
    """Labels joined, in the language the sentence holding them is rendered in."""
    return lazy(lambda: str(separator).join(str(item) for item in items), str)()


def _cohort_quote(study: Study) -> str | None:
    """The cohort's headline result in the source's words."""
    efficacy = study.efficacy_text.strip()
    if efficacy and len(efficacy) <= _SHORT_EFFICACY_CHARS:
        return efficacy
    table = [o for o in study.outcomes.all() if o.source == "table"]
    whole = [o for o in table if o.population.startswith("whole cohort")]
    candidates = whole or table
    chosen = candidates[0] if candidates else None
    if chosen is None or len(chosen.wording) > _LONGEST_COHORT_QUOTE_CHARS:
        return None
    return chosen.wording


def _add_cohort_reason(
    tally: _Tally, weight: float, study: Study, *, cohort: str, case_report: str, **params: object
) -> None:
    """``cohort`` and ``case_report``: the same sentence (English source, no full stop) for a
    cohort of patients like this one and for a case report of them."""
    template = cohort
    if study.design == Design.CASE_REPORT:
        # One or a few patients like this one are worth less than a cohort of them, and
        # must not be called a cohort.
        weight *= CASE_REPORT_SETTING_FACTOR
        template = case_report
    sentence = _phrase(template, **params)
    quote = _cohort_quote(study)
    if quote is None:
        tally.add(weight, Reason(gettext_noop("%(reason)s."), reason=sentence))
    else:
        prefix = _phrase(gettext_noop("%(reason)s; the review reports"), reason=sentence)
        tally.quote(weight, prefix, quote)


def _post_transplant_scope(study: Study, tags: set[str]) -> str:
    """'all', 'dli' (all, and known from DLI), 'some', 'excluded' or 'none'."""
    if SettingTag.POST_TRANSPLANT_EXCLUDED in tags:
        return "excluded"
    only_dli = {regimen.code for regimen in study.regimens.all()} == {RegimenCode.VEN_DLI}
    if SettingTag.POST_TRANSPLANT_COHORT in tags:
        return "dli" if only_dli else "all"
    if SettingTag.POST_TRANSPLANT_RELAPSE not in tags:
        return "none"
    return "dli" if only_dli else "some"


def _score_post_transplant(
    tally: _Tally, features: PatientFeatures, study: Study, tags: set[str]
) -> None:
    scope = _post_transplant_scope(study, tags)
    if _relapsed_after_transplant(features):
        if scope == "all":
            _add_cohort_reason(
                tally,
                POST_TRANSPLANT_COHORT_WEIGHT,
                study,
                cohort=gettext_noop("Post-transplant relapse cohort, like this patient"),
                case_report=gettext_noop("Post-transplant relapse case report, like this patient"),
            )
        elif scope == "dli":
            _add_cohort_reason(
                tally,
                POST_TRANSPLANT_COHORT_WEIGHT,
                study,
                cohort=gettext_noop(
                    "Post-transplant relapse cohort, like this patient (every patient received "
                    "donor lymphocytes, which requires a prior allogeneic transplant)"
                ),
                case_report=gettext_noop(
                    "Post-transplant relapse case report, like this patient (every patient "
                    "received donor lymphocytes, which requires a prior allogeneic transplant)"
                ),
            )
        elif scope == "some":
            subgroup = next(
                (o for o in study.outcomes.all() if _PRIOR_ALLO_RE.search(o.population)), None
            )
            if subgroup is None:
                tally.add(
                    POST_TRANSPLANT_INCLUDED_WEIGHT,
                    Reason(
                        gettext_noop(
                            "Includes some patients who relapsed after allogeneic transplant, "
                            "without a separate result for them."
                        )
                    ),
                )
            else:
                tally.quote(
                    POST_TRANSPLANT_SUBGROUP_WEIGHT,
                    _phrase(
                        gettext_noop(
                            "Includes patients who relapsed after allogeneic transplant and "
                            "reports their result separately (%(population)s)"
                        ),
                        population=subgroup.population,
                    ),
                    subgroup.wording,
                )
        elif scope == "excluded":
            tally.quote(
                -COHORT_MISMATCH_PENALTY,
                _phrase(
                    gettext_noop(
                        "Excluded patients who relapsed after transplant, unlike this patient"
                    )
                ),
                study.population_text,
            )
    elif features.prior_allo_transplant is False and scope in ("all", "dli"):
        tally.add(
            -COHORT_MISMATCH_PENALTY,
            Reason(
                gettext_noop(
                    "Post-transplant relapse cohort, but this patient has had no allogeneic "
                    "transplant."
                )
            ),
        )


def _score_other_settings(
    tally: _Tally, features: PatientFeatures, study: Study, tags: set[str]
) -> None:
    if SettingTag.POST_MPN in tags:
        if features.aml_type == "post_mpn":
            _add_cohort_reason(
                tally,
                POST_MPN_COHORT_WEIGHT,
                study,
                cohort=gettext_noop("Post-MPN AML cohort, like this patient"),
                case_report=gettext_noop("Post-MPN AML case report, like this patient"),
            )
        elif features.aml_type is not None:
            tally.add(
                -COHORT_MISMATCH_PENALTY,
                Reason(
                    gettext_noop(
                        "Post-MPN AML cohort, but this patient's AML did not follow an MPN."
                    )
                ),
            )
    present, absent = _features_present(features), _features_absent(features)
    case_report = study.design == Design.CASE_REPORT
    for tag, genes in MUTATION_COHORT_TAGS.items():
        if tag not in tags:
            continue
        label = SettingTag(tag).label
        if genes & present:
            _add_cohort_reason(
                tally,
                MUTATION_COHORT_WEIGHT,
                study,
                cohort=gettext_noop("%(label)s cohort, like this patient"),
                case_report=gettext_noop("Describes %(label)s AML, like this patient"),
                label=label,
            )
        elif genes <= absent and not case_report:
            # Case reports carry these tags for individual patients, not as a selection.
            tally.add(
                -COHORT_MISMATCH_PENALTY,
                Reason(
                    gettext_noop("%(label)s cohort, but this patient is not %(label)s."),
                    label=label,
                ),
            )
    if SettingTag.SECONDARY_AML in tags and features.aml_type in (
        "secondary",
        "therapy_related",
        "post_mpn",
    ):
        tally.add(
            SETTING_INCLUDED_WEIGHT,
            Reason(gettext_noop("Includes secondary AML, like this patient.")),
        )
    if SettingTag.PRIMARY_REFRACTORY in tags and features.disease_status == "primary_refractory":
        tally.add(
            SETTING_INCLUDED_WEIGHT,
            Reason(gettext_noop("Includes primary refractory AML, like this patient.")),
        )
    if (
        SettingTag.HEAVILY_PRETREATED in tags
        and features.disease_status == "second_or_later_relapse"
    ):
        tally.add(
            HEAVILY_PRETREATED_WEIGHT,
            Reason(
                gettext_noop(
                    "Heavily pretreated cohort, like this patient (second or later relapse)."
                )
            ),
        )


def _subgroup_match(text: str, present: frozenset[str], absent: frozenset[str]) -> dict[str, bool]:
    """Patient features a finding gene or outcome population is about -> specific match?

    A compound ("NPM1 + FLT3-ITD") needs every part not known absent and one part present;
    a list ("NPM1, IDH1, or IDH2") needs one part present.
    """
    parts = [_SUBGROUP_TOKENS[m.group(1).upper()] for m in _TOKEN_RE.finditer(text)]
    if not parts:
        return {}
    if _COMPOUND_RE.search(text) and any(genes <= absent for genes, _ in parts):
        return {}
    matched: dict[str, bool] = {}
    for genes, specific in parts:
        for feature in genes & present:
            matched[feature] = matched.get(feature, False) or specific
    return matched


def _subgroup_label(gene: str) -> StrOrPromise:
    base, _sep, rest = gene.partition(" (")
    qualifier = f" ({rest}" if rest else ""
    if _TOKEN_RE.fullmatch(base) is None or " " in base:
        return _phrase(
            gettext_noop("patients with %(group)s%(qualifier)s"), group=base, qualifier=qualifier
        )
    return _phrase(
        gettext_noop("%(gene)s-mutated patients%(qualifier)s"), gene=base, qualifier=qualifier
    )


def _feature_label(feature: str) -> StrOrPromise:
    if feature == COMPLEX_KARYOTYPE:
        return _("complex karyotype")
    return _phrase(gettext_noop("%(gene)s-mutated"), gene=feature.replace("_", "-"))


def _finding_prefix(finding: MutationFinding) -> StrOrPromise:
    label = _subgroup_label(finding.gene)
    if finding.direction == MutationFinding.Direction.FAVOURABLE:
        template = gettext_noop("Reports a better outcome for %(patients)s (favourable)")
    elif finding.direction == MutationFinding.Direction.UNFAVOURABLE:
        template = gettext_noop("Reports a worse outcome for %(patients)s (unfavourable)")
    else:
        template = gettext_noop("Reports no difference in outcome for %(patients)s")
    return _phrase(template, patients=label)


def _score_mutation_subgroups(tally: _Tally, features: PatientFeatures, study: Study) -> None:
    present, absent = _features_present(features), _features_absent(features)
    if not present:
        return
    matched: dict[str, bool] = {}
    pending: list[tuple[StrOrPromise, str]] = []  # (sentence, quoted wording), one reason each
    for finding in study.mutation_findings.all():
        hits = _subgroup_match(finding.gene, present, absent)
        if not hits:
            continue
        for feature, specific in hits.items():
            matched[feature] = matched.get(feature, False) or specific
        key = (_finding_prefix(finding), finding.wording.strip())
        if key not in pending:
            pending.append(key)
    # Outcomes for a mutation subgroup carry no direction; they are quoted only when their
    # wording is not already quoted by a finding (the loader often stores both for one sentence).
    seen_wordings = {wording for _, wording in pending}
    for outcome in study.outcomes.all():
        if _NOT_CARRIERS_RE.search(outcome.population):
            continue
        hits = _subgroup_match(outcome.population, present, absent)
        if not hits:
            continue
        for feature, specific in hits.items():
            matched[feature] = matched.get(feature, False) or specific
        wording = outcome.wording.strip()
        if wording in seen_wordings:
            continue
        seen_wordings.add(wording)
        genes = _listed([_feature_label(f) for f in sorted(hits)], _AND)
        pending.append(
            (
                _phrase(
                    gettext_noop(
                        "Reports a result for the subgroup %(population)s (this patient is "
                        "%(features)s), without a stated direction"
                    ),
                    population=outcome.population,
                    features=genes,
                ),
                wording,
            )
        )
    if not matched:
        return
    # The subgroup's weight is counted once per patient feature, not once per sentence: a study
    # quoting IDH1/2 three times is not three times as relevant.
    weight = sum(
        MUTATION_SUBGROUP_WEIGHT if specific else MUTATION_SUBGROUP_BROAD_WEIGHT
        for specific in matched.values()
    )
    for index, (prefix, wording) in enumerate(pending):
        tally.quote(weight if index == 0 else 0.0, prefix, wording)


def _score_prior_therapy_subgroups(tally: _Tally, features: PatientFeatures, study: Study) -> None:
    checks: list[tuple[re.Pattern[str], StrOrPromise]] = []
    if features.prior_hma is True:
        checks.append((_PRIOR_HMA_RE, _("patients previously treated with an HMA")))
    elif features.prior_hma is False:
        checks.append((_HMA_NAIVE_RE, _("HMA-naive patients")))
    if features.disease_status in _SALVAGE_LINE_RE:
        checks.append((_SALVAGE_LINE_RE[features.disease_status], _("this line of salvage")))
    for pattern, who in checks:
        outcome = next((o for o in study.outcomes.all() if pattern.search(o.population)), None)
        if outcome is None or outcome.wording.strip() in tally.quoted:
            continue
        tally.quote(
            PRIOR_THERAPY_SUBGROUP_WEIGHT,
            _phrase(
                _prior_therapy_template(study, outcome), who=who, population=outcome.population
            ),
            outcome.wording,
        )


def _prior_therapy_template(study: Study, outcome: Outcome) -> str:
    """The direction of a prior-therapy subgroup's result, read from the same sentence's
    comparator (Feld: 14.3% previously exposed vs 66.7% HMA-naive; Aldoss: 14% vs 63%), said
    the way mutation findings say it; no comparator, no direction."""
    comparator = next(
        (
            o
            for o in study.outcomes.all()
            if o.pk != outcome.pk
            and o.wording.strip() == outcome.wording.strip()
            and o.measure == outcome.measure
            and o.value is not None
        ),
        None,
    )
    theirs = comparator.value if comparator is not None else None
    if theirs is not None and outcome.value is not None and outcome.value != theirs:
        if outcome.value < theirs:
            return gettext_noop(
                "Reports a worse outcome for %(who)s, like this patient (unfavourable): "
                "%(population)s"
            )
        return gettext_noop(
            "Reports a better outcome for %(who)s, like this patient (favourable): %(population)s"
        )
    return gettext_noop("Reports a separate result for %(who)s, like this patient (%(population)s)")


def _score_evidence(tally: _Tally, study: Study) -> None:
    size = max(study.n_rr_aml or study.n_patients, 1)
    weight = DESIGN_WEIGHTS.get(study.design, 0.0) + SIZE_WEIGHT_PER_LOG10 * math.log10(size)
    if study.design == Design.CASE_REPORT and study.n_patients == 1:
        tally.add(weight, Reason(gettext_noop("Case report of a single patient.")))
        return
    design = _DESIGN_PHRASE.get(study.design, _("Study"))
    if study.n_rr_aml is not None and study.n_rr_aml != study.n_patients:
        template = gettext_noop("%(design)s of %(n)s patients (%(n_rr)s with R/R AML).")
    else:
        template = gettext_noop("%(design)s of %(n)s patients.")
    tally.add(weight, Reason(template, design=design, n=study.n_patients, n_rr=study.n_rr_aml))
