"""The interface language: compiling the gettext catalogues, and text that must stay English.

The catalogues (``locale/<lang>/LC_MESSAGES/*.po``) are the source; the ``.mo`` files Django
reads are build output, compiled here in pure Python (polib) so that a machine with only
Python, and no GNU gettext, can build and run the app. ``scripts/dev.py``, the Dockerfile and
the test session call :func:`catalogues_compile`.

Records that outlive the request (audit summaries, snapshots, stored findings) are written in
English, the source language, whatever language the person acting reads: :func:`english`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues_compile(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    """Compile every ``.po`` under ``locale_dir`` whose ``.mo`` is missing or older; return
    the ``.mo`` files written. Fuzzy entries are left out, as msgfmt does."""
    import polib

    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalogue = polib.pofile(str(po_path))
        for entry in catalogue.fuzzy_entries():
            catalogue.remove(entry)
        # Written next to its final name and renamed: a server reading the old file never
        # sees half of the new one.
        # The process id keeps two compilers (two pytest-xdist workers) off each other's file.
        partial = mo_path.with_suffix(f".mo.{os.getpid()}.partial")
        catalogue.save_as_mofile(str(partial))
        partial.replace(mo_path)
        written.append(mo_path)
    return written


def english(text: object | Callable[[], object]) -> str:
    """``text`` rendered in English: a lazy translation, an object whose ``str`` translates (a
    model with choices), or a function, called in English, for what translates as soon as it
    is read (``lambda: event.get_relation_display()``)."""
    from django.utils import translation

    with translation.override("en"):
        return str(text() if callable(text) else text)


class Bilingual(str):
    """Words in the interface language that keep their English version (``.english``) for the
    record: a safety finding's fingerprint and stored override, a ranking reason stored on an
    attachment. So a decision holds, and a record reads the same, whatever language the person
    acting reads.

    ``template`` is the English source (marked with ``gettext_noop`` where it is written); a
    param is a nested Bilingual, a lazy translation, or plain data (quoted wording, a number),
    which is never translated."""

    english: str

    def __new__(cls, template: str, **params: object) -> Bilingual:
        from django.utils import translation
        from django.utils.translation import gettext

        shown = gettext(template) % params
        with translation.override("en"):
            english = template % {
                k: v.english if isinstance(v, Bilingual) else str(v) for k, v in params.items()
            }
        text = super().__new__(cls, shown)
        text.english = english
        return text

    @classmethod
    def of(cls, english: str, shown: str) -> Bilingual:
        """A text from a data file that carries its own translation: ``shown`` in the reader's
        language, ``english`` for the record."""
        text = super().__new__(cls, shown)
        text.english = english
        return text


# --- Data that carries its own translations ---------------------------------------------------
# The rules data files (regulatory/data/rules.json, pharmacy/data/*.json) are written in
# English, the source language, and carry their translations with them: an item holds
# ``"i18n": {"it": {"text": "…"}}`` beside its English ``"text"``, and a pathway version keeps
# those of its own fields in its ``translations`` column ({"it": {"name": "…"}}). A page shows
# the reader's language, falling back to English field by field; a record (audit summary,
# snapshot) reads the English. Verbatim quotes of the law or the label ("wording") are never
# translated: the page shows them as quotes marked with their language.

_MISSING: Any = object()
DATA_LANGUAGES = ("it",)  # the interface's languages besides English, as settings.LANGUAGES
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
_NUMBER = re.compile(r"\d+")


def reader_language(language: str | None = None) -> str:
    """The two-letter language a text is shown in: ``language`` or the active one."""
    from django.utils import translation

    return (language or translation.get_language() or "en").split("-")[0].lower()


def localized(source: Any, field: str, *, language: str | None = None) -> str:
    """``field`` of a data item in the reader's language, or its English text when that
    language has none. ``source`` is a dict from a data file (translations under ``"i18n"``)
    or an object with a ``translations`` attribute (a model row)."""
    if isinstance(source, Mapping):
        english = source.get(field)
        translations = source.get("i18n")
    else:
        english = getattr(source, field, None)
        translations = getattr(source, "translations", None)
    english = "" if english is None else str(english)
    lang = reader_language(language)
    if lang == "en" or not english or not isinstance(translations, Mapping):
        return english
    shown = (translations.get(lang) or {}).get(field)
    return shown if isinstance(shown, str) and shown.strip() else english


class TranslationsInvalid(ValueError):
    """A data file's translation is missing or does not say what the English says; the
    message names the item and the field."""


def translation_check(english: str, translated: Any, *, where: str) -> None:
    """A translation exists and keeps what a reader must not lose: the same placeholders, the
    same numbers (a dose, a deadline, an article), and "UNCONFIRMED" said as such."""
    if not isinstance(translated, str) or not translated.strip():
        raise TranslationsInvalid(f"{where}: no translation")
    if sorted(_PLACEHOLDER.findall(english)) != sorted(_PLACEHOLDER.findall(translated)):
        raise TranslationsInvalid(f"{where}: the placeholders differ from the English")
    if sorted(_NUMBER.findall(english)) != sorted(_NUMBER.findall(translated)):
        raise TranslationsInvalid(f"{where}: the numbers differ from the English")
    if "UNCONFIRMED" in english and "NON CONFERMAT" not in translated:
        raise TranslationsInvalid(f"{where}: UNCONFIRMED is not carried into the translation")


def translations_check(
    item: Mapping[str, Any],
    fields: Iterable[str],
    *,
    where: str,
    translations: Any = _MISSING,
    languages: Iterable[str] = DATA_LANGUAGES,
) -> None:
    """Every non-empty English ``field`` of ``item`` has a faithful translation in each
    language (:func:`translation_check`), and nothing else is translated. The translations are
    ``item["i18n"]`` unless given."""
    found = item.get("i18n") if translations is _MISSING else translations
    if not isinstance(found, Mapping):
        raise TranslationsInvalid(f"{where}: no translations (i18n)")
    fields = tuple(fields)
    for language in languages:
        texts = found.get(language)
        if not isinstance(texts, Mapping):
            raise TranslationsInvalid(f"{where}: no translations into {language!r}")
        unknown = set(texts) - {f for f in fields if item.get(f)}
        if unknown:
            raise TranslationsInvalid(
                f"{where}: {language!r} translates {', '.join(sorted(unknown))}, which has no "
                "English text to translate"
            )
        for field in fields:
            english = item.get(field)
            if isinstance(english, str) and english.strip():
                translation_check(english, texts.get(field), where=f"{where}.{field} ({language})")


def translations_carried(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    translations: Any,
    *,
    translations_before: Any = None,
) -> dict[str, Any]:
    """The translations that still hold after an edit: a field whose English changed loses its
    translation (a stale Italian text must never say what the English no longer says), so the
    reader sees the new English until it is translated again; a translation edited together
    with its English (it differs from ``translations_before``) is kept."""
    if not isinstance(translations, Mapping):
        return {}
    previous = translations_before if isinstance(translations_before, Mapping) else translations
    kept: dict[str, Any] = {}
    for language, texts in translations.items():
        if not isinstance(texts, Mapping):
            continue
        old_texts = previous.get(language)
        old_texts = old_texts if isinstance(old_texts, Mapping) else {}
        still = {
            f: t for f, t in texts.items() if before.get(f) == after.get(f) or old_texts.get(f) != t
        }
        if still:
            kept[language] = still
    return kept


def _nested_translations_carried(before: Any, after: Any) -> Any:
    """``after`` (a rule expression) with the ``i18n`` of each node of ``before`` that says the
    same in English, where ``after`` lost it (an editor rebuilt the expression)."""
    if isinstance(after, dict) and isinstance(before, dict):
        out = {k: _nested_translations_carried(before.get(k), v) for k, v in after.items()}
        if "i18n" not in after and isinstance(before.get("i18n"), Mapping):
            kept = translations_carried(before, after, before["i18n"])
            if kept:
                out["i18n"] = kept
        return out
    if isinstance(after, list) and isinstance(before, list) and len(after) == len(before):
        return [_nested_translations_carried(b, a) for b, a in zip(before, after, strict=True)]
    return after


def items_translations_carried(before: Any, after: Any) -> Any:
    """``after`` (a list of criteria or checklist items, as an editor saves them) with each
    item's translations carried over from the item of the same code ``before``: kept where its
    English is unchanged, dropped where it changed (:func:`translations_carried`), also inside
    its rule. An item with no previous version keeps what it was given."""
    if not isinstance(after, list):
        return after
    old = {
        i.get("code"): i
        for i in (before if isinstance(before, list) else [])
        if isinstance(i, dict)
    }
    carried = []
    for item in after:
        previous = old.get(item.get("code")) if isinstance(item, dict) else None
        if previous is None:
            carried.append(item)
            continue
        given = item.get("i18n")
        kept = translations_carried(
            previous,
            item,
            given if isinstance(given, Mapping) else previous.get("i18n"),
            translations_before=previous.get("i18n"),
        )
        new_item = {k: v for k, v in item.items() if k != "i18n"}
        if "rule" in new_item:
            new_item["rule"] = _nested_translations_carried(previous.get("rule"), item["rule"])
        if kept:
            new_item["i18n"] = kept
        carried.append(new_item)
    return carried


# --- Money ------------------------------------------------------------------------------------
# An amount is shown in the reader's locale with two decimals (more when a unit price has
# them) and its currency's symbol: "€ 4.961,55" in Italian, "€4,961.55" in English. Files keep
# numbers: the XLSX a number with a currency format, the CSV a plain decimal with two places
# and the currency in a column of its own (offlabel.exports).

CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Money:
    """An amount with its currency, for tables that go to the page and to files alike."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return money_format(self.amount, self.currency)


def money_amount(amount: Decimal | float | int | str, *, places: int | None = 2) -> Decimal:
    """The amount rounded half up to ``places`` decimals; ``None`` keeps up to 4 (a unit
    price), and never fewer than 2."""
    value = Decimal(str(amount))
    if places is None:
        exponent = value.normalize().as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) else 2
        places = min(max(decimals, 2), 4)
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def money_format(
    amount: Decimal | float | int | str | None,
    currency: str = "EUR",
    *,
    places: int | None = 2,
    language: str | None = None,
) -> str:
    """``amount`` in ``currency`` as the reader's locale writes money ("" when None)."""
    if amount is None or amount == "":
        return ""
    from django.utils import formats, translation

    lang = reader_language(language)
    value = money_amount(amount, places=places)
    exponent = value.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) else 2
    with translation.override(lang):
        number = formats.number_format(
            abs(value), decimal_pos=decimals, use_l10n=True, force_grouping=True
        )
    sign = "-" if value < 0 else ""
    code = (currency or "").upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    if lang == "en":
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}".strip()
    # Italian (and the other continental locales): the symbol, a space, the number.
    return f"{sign}{symbol} {number}" if symbol else f"{sign}{number} {code}".strip()
