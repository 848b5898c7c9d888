"""Route a request: evaluate each pathway of its jurisdiction in legal order and recommend one.

Every criterion is reported as met / not met / unknown with the data that decided it; the
recommendation is the first pathway whose criteria all hold or hold as published except where the
current official text is unconfirmed ("verify"), or, failing that, the first that may hold once
the unknowns are filled; the others are listed with why they rank lower. A pathway to verify comes
before a later one that applies: it ranks first in the legal order (Law 648 is reimbursed by the
SSN), and only a person reading the current official text can say it does not apply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext

from offlabel.i18n import localized
from prescriptions.models import OffLabelRequest
from regulatory.models import PathwayVersion
from regulatory.rules import MET, NOT_MET, UNKNOWN, evaluate, facts_for

APPLIES, VERIFY, POSSIBLE, NOT_APPLICABLE = "applies", "verify", "possible", "not_applicable"


@dataclass(frozen=True)
class CriterionResult:
    code: str
    text: str
    result: str
    because: str
    confirmed: bool
    source: str
    wording: str = ""
    note: str = ""
    verify: bool = False


@dataclass
class Assessment:
    pathway_code: str
    version_id: int
    version: int
    name: str
    status: str
    criteria: list[CriterionResult]
    confirmed: bool
    unconfirmed_note: str
    why: str = ""
    recommended: bool = False

    @property
    def unmet(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.result == NOT_MET]

    @property
    def unknown(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.result == UNKNOWN]


@dataclass
class Routing:
    jurisdiction: str
    assessments: list[Assessment] = field(default_factory=list)

    @property
    def recommended(self) -> Assessment | None:
        return next((a for a in self.assessments if a.recommended), None)

    def by_code(self, code: str) -> Assessment | None:
        return next((a for a in self.assessments if a.pathway_code == code), None)

    def as_data(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "assessments": [asdict(a) for a in self.assessments],
        }


def current_versions(jurisdiction: str) -> list[PathwayVersion]:
    return list(
        PathwayVersion.objects.filter(pathway__jurisdiction__code=jurisdiction, is_current=True)
        .select_related("pathway")
        .order_by("pathway__order")
    )


def assess(version: PathwayVersion, facts: dict[str, Any]) -> Assessment:
    results = []
    for criterion in version.criteria:
        outcome = evaluate(criterion["rule"], facts)
        results.append(
            CriterionResult(
                code=criterion["code"],
                text=localized(criterion, "text"),
                result=outcome.result,
                because=outcome.because,
                confirmed=bool(criterion.get("confirmed", version.confirmed)),
                source=localized(criterion, "source"),
                wording=criterion.get("wording", ""),  # a verbatim quote: never translated
                note=localized(criterion, "note"),
                verify=outcome.verify,
            )
        )
    outcomes = {r.result for r in results}
    unknown = [r for r in results if r.result == UNKNOWN]
    status = (
        NOT_APPLICABLE
        if NOT_MET in outcomes
        else APPLIES
        if not unknown
        else VERIFY
        if all(r.verify for r in unknown)
        else POSSIBLE
    )
    return Assessment(
        pathway_code=version.pathway.code,
        version_id=version.pk,
        version=version.version,
        name=localized(version, "name"),
        status=status,
        criteria=results,
        confirmed=version.confirmed,
        unconfirmed_note=localized(version, "unconfirmed_note"),
    )


def route(
    request: OffLabelRequest,
    *,
    versions: list[PathwayVersion] | None = None,
    facts: dict[str, Any] | None = None,
) -> Routing:
    """``versions`` (the jurisdiction's, in legal order) lets the rules editor route a request
    on a proposed, unsaved version without writing it; by default the current versions."""
    facts = facts_for(request) if facts is None else facts
    if versions is None:
        versions = current_versions(request.jurisdiction)
    routing = Routing(request.jurisdiction, [assess(v, facts) for v in versions])
    chosen = next((a for a in routing.assessments if a.status in (APPLIES, VERIFY)), None) or next(
        (a for a in routing.assessments if a.status == POSSIBLE), None
    )
    for a in routing.assessments:
        if a is chosen:
            a.recommended = True
            a.why = (
                gettext(
                    "Recommended: the first pathway in the legal order whose criteria all hold."
                )
                if a.status == APPLIES
                else gettext(
                    "Unknown — verify against the current listing: recommended because it comes "
                    "first in the legal order and its criteria hold as published, except where "
                    "the current text is unconfirmed (%(reasons)s)."
                )
                % {"reasons": "; ".join(c.because for c in a.unknown)}
                if a.status == VERIFY
                else gettext(
                    "Recommended: the first pathway in the legal order whose criteria may hold "
                    "once the unknown data are recorded."
                )
            )
        elif a.status == NOT_APPLICABLE:
            a.why = gettext("Cannot apply: %(reasons)s") % {
                "reasons": "; ".join(f"{c.text} — {c.because}" for c in a.unmet)
            }
        elif a.status == VERIFY:
            a.why = gettext(
                "Unknown — verify against the current listing: %(reasons)s "
                "(ranks after %(pathway)s)."
            ) % {
                "reasons": "; ".join(c.because for c in a.unknown),
                "pathway": chosen.name if chosen else gettext("another pathway"),
            }
        elif a.status == POSSIBLE and chosen is not None and chosen.status in (APPLIES, VERIFY):
            a.why = gettext("Ranks lower: %(reasons)s (and %(pathway)s applies).") % {
                "reasons": "; ".join(c.because for c in a.unknown),
                "pathway": chosen.name,
            }
        else:
            first = chosen.name if chosen else gettext("another pathway")
            a.why = gettext(
                "Also applies, but ranks lower: %(pathway)s comes first in the legal order."
            ) % {"pathway": first}
    return routing


__all__ = [
    "APPLIES",
    "MET",
    "NOT_APPLICABLE",
    "POSSIBLE",
    "VERIFY",
    "Assessment",
    "Routing",
    "assess",
    "route",
]
