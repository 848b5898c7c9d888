"""Concomitant medications by their interaction with venetoclax: sourced data, matched on the
names clinicians type (INN, US, Italian, French and brand names, with or without accents).

The classes file (``prescriptions/data/medication_classes.json``) keys each drug from the label's
example lists where it can; anything else is marked unconfirmed and shown as "verify".
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

CLASSES_FILE = Path(settings.BASE_DIR) / "prescriptions" / "data" / "medication_classes.json"
INTERACTION_CLASSES = (
    "strong_cyp3a_inhibitor",
    "moderate_cyp3a_inhibitor",
    "pgp_inhibitor",
    "strong_cyp3a_inducer",
    "moderate_cyp3a_inducer",
    "none_known",
    "food_avoid",
)


class ClassesInvalid(ValueError):
    """The medication classes file is malformed; the message names the entry."""


@dataclass(frozen=True)
class DrugClass:
    code: str
    name: str
    klass: str
    also_pgp_inhibitor: bool
    source: str  # the source's title
    wording: str
    confirmed: bool


@dataclass(frozen=True)
class Classes:
    version: int
    digest: str
    drugs: tuple[DrugClass, ...]
    aliases: tuple[tuple[str, DrugClass], ...]  # longest alias first


def normalise(name: str) -> str:
    """Lower case, no accents, words separated by single spaces: 'Ciclosporina 100mg' ->
    'ciclosporina 100mg'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9']+", " ", folded).split())


def classes_parse(data: dict[str, Any]) -> Classes:
    sources = data.get("sources") or {}
    drugs = []
    aliases: dict[str, DrugClass] = {}
    for i, node in enumerate(data.get("drugs") or []):
        where = f"drugs[{i}] ({node.get('code', '?')})"
        if node.get("class") not in INTERACTION_CLASSES:
            raise ClassesInvalid(f"{where}: class {node.get('class')!r} is unknown")
        if node.get("source") not in sources:
            raise ClassesInvalid(f"{where}: source {node.get('source')!r} is unknown")
        if not str(node.get("wording", "")).strip():
            raise ClassesInvalid(f"{where}: the wording is empty")
        drug = DrugClass(
            code=str(node["code"]),
            name=str(node.get("name") or node["code"]),
            klass=node["class"],
            also_pgp_inhibitor=bool(node.get("also_pgp_inhibitor", False)),
            source=str(sources[node["source"]]),
            wording=str(node["wording"]),
            confirmed=bool(node.get("confirmed", False)),
        )
        drugs.append(drug)
        for alias in [node["code"], *node.get("aliases", [])]:
            key = normalise(str(alias))
            if not key:
                continue
            if key in aliases and aliases[key].code != drug.code:
                raise ClassesInvalid(f"{where}: alias {alias!r} also names {aliases[key].code}")
            aliases[key] = drug
    if not drugs:
        raise ClassesInvalid("the file lists no drugs")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    ordered = tuple(sorted(aliases.items(), key=lambda kv: -len(kv[0])))
    return Classes(int(data.get("version", 0)), digest, tuple(drugs), ordered)


@cache
def classes_current() -> Classes:
    return classes_parse(json.loads(CLASSES_FILE.read_text(encoding="utf-8")))


def medication_classify(name: str, classes: Classes | None = None) -> tuple[DrugClass, ...]:
    """Every drug of the table that the typed name contains as whole words (a combination
    such as 'lopinavir/ritonavir' gives each of its known parts)."""
    classes = classes or classes_current()
    text = f" {normalise(name)} "
    found: dict[str, DrugClass] = {}
    for alias, drug in classes.aliases:
        if f" {alias} " in text and drug.code not in found:
            found[drug.code] = drug
            text = text.replace(f" {alias} ", " ")
    return tuple(found.values())
