"""The consent form's wording: one gettext system, complete catalogues, a version from the content.

Issue 13: the legal texts live in per-language files (``locale/<lang>/LC_MESSAGES/django.po``,
``msgctxt "consent"``) and the template version is derived from the content's hash, so editing a
sentence changes the version and supersedes the unsigned forms."""

import re
import string
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import pgettext_lazy, trans_real

from audit.models import AuditEvent
from consent import wording
from consent.models import ConsentDocument
from consent.services import (
    consent_is_signed,
    consent_render,
    consent_request,
    consent_sign,
    consent_supersede_stale,
)

LOCALE = Path(settings.BASE_DIR) / "locale"
TRANSLATED = ("it", "fr")


def _sources() -> list[str]:
    """Every English source text of the form (the gettext msgids)."""
    texts: list[str] = []
    with translation.override("en"):
        for source in (
            wording.TEXTS_SOURCE,
            wording.PATHWAY_TEXTS_SOURCE,
            wording.RISKS_SOURCE,
            wording.DEATH_EVENTS_SOURCE,
            wording.COSTS_SOURCE,
            wording.DATA_RECIPIENTS_SOURCE,
            wording.SUPERVISORY_AUTHORITIES_SOURCE,
            wording.DATA_PROTECTION_LAW_SOURCE,
            wording.INDICATION_SOURCE,
        ):
            for value in source.values():
                texts.extend(str(v) for v in (value if isinstance(value, tuple) else (value,)))
    return texts


def _fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_of_the_form_is_translated_with_the_same_placeholders(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    entries = {e.msgid: e for e in catalogue if e.msgctxt == wording.CONTEXT and not e.obsolete}
    sources = _sources()
    assert len(set(sources)) > 130
    for source in sources:
        entry = entries.get(source)
        assert entry is not None, f"missing from the {language} catalogue: {source!r}"
        assert entry.msgstr.strip() and "fuzzy" not in entry.flags, source
        assert _fields(entry.msgstr) == _fields(source), (source, entry.msgstr)
    # Nothing left over from an older wording: every consent entry still has its source.
    assert set(entries) == set(sources)


def test_the_loaded_catalogues_give_the_translated_form_and_french_typography():
    it, fr, en = wording.TEXTS["it"], wording.TEXTS["fr"], wording.TEXTS["en"]
    assert en["title"] == "Patient information and consent form"
    assert it["title"] == "Foglio informativo e modulo di consenso per il paziente"
    assert fr["h_medicine"].startswith("1. Qu") and fr["h_medicine"].endswith("\u00a0?")
    assert wording.INDICATION_PLAIN["fr"]["Relapsed/refractory acute myeloid leukaemia"] == (
        "leucémie aiguë myéloïde en rechute ou réfractaire"
    )
    # French: a no-break space before ; : ? ! and %, never an ordinary one.
    for key, text in fr.items():
        assert not re.search(r" [;:?!%]", text), key
    with pytest.raises(KeyError):
        wording.TEXTS["de"]


def test_the_version_is_a_hash_of_the_wording_and_changes_with_one_sentence(monkeypatch):
    versions = {lang: wording.template_version(lang) for lang in wording.LANGUAGES}
    assert all(re.fullmatch(rf"consent-{lang}-[0-9a-f]{{12}}", v) for lang, v in versions.items())
    assert len(set(versions.values())) == 3
    assert wording.template_version("it") == versions["it"]  # stable

    # One Italian sentence edited in the catalogue: only the Italian version changes.
    catalogue = trans_real.translation("it")._catalog  # type: ignore[attr-defined]
    key = f"{wording.CONTEXT}\x04Date"
    assert catalogue[key] == "Data"
    monkeypatch.setitem(catalogue, key, "Data della firma")
    assert wording.TEXTS["it"]["date_label"] == "Data della firma"
    assert wording.template_version("it") != versions["it"]
    assert wording.template_version("fr") == versions["fr"]
    assert wording.template_version("en") == versions["en"]

    # The English source edited: every language's version changes.
    monkeypatch.setitem(wording.TEXTS_SOURCE, "title", _edited("Patient information sheet"))
    assert all(wording.template_version(lang) != versions[lang] for lang in ("en", "fr"))


def _edited(text: str):
    """A source sentence as an edit would leave it (its context is not a literal, so
    makemessages does not take this test's text into the catalogues)."""
    return pgettext_lazy(wording.CONTEXT, text)


def _ready(request, physician, language):
    return consent_render(consent_request(actor=physician, request=request, language=language).pk)


def test_a_new_wording_supersedes_unsigned_forms_and_keeps_the_signed_one(
    draft, physician, monkeypatch
):
    signed = _ready(draft, physician, "en")
    unsigned_it = _ready(draft, physician, "it")
    unsigned_fr = _ready(draft, physician, "fr")
    assert signed.template_version == wording.template_version("en")
    consent_sign(actor=physician, document=signed, method="on_screen", witness_name="Nurse Demo")

    # An Italian sentence changes: the unsigned Italian form is superseded, the French one not.
    catalogue = trans_real.translation("it")._catalog  # type: ignore[attr-defined]
    monkeypatch.setitem(catalogue, f"{wording.CONTEXT}\x04Date", "Data della firma")
    assert consent_supersede_stale(draft) == [unsigned_it]
    for document, status in (
        (signed, "ready"),
        (unsigned_it, "superseded"),
        (unsigned_fr, "ready"),
    ):
        document.refresh_from_db()
        assert document.status == status, document.language
    event = AuditEvent.objects.filter(action="consent.superseded").latest("pk")
    assert event.after == {"document": unsigned_it.pk}
    assert "wording" in event.summary

    # The new Italian form carries the new wording and its version.
    new_it = _ready(draft, physician, "it")
    assert new_it.pk != unsigned_it.pk
    assert new_it.template_version == wording.template_version("it") != unsigned_it.template_version

    # An English source sentence changes: the signed English form stays signed and current.
    monkeypatch.setitem(wording.TEXTS_SOURCE, "title", _edited("Patient information sheet"))
    superseded = consent_supersede_stale(draft)
    assert {d.language for d in superseded} == {"it", "fr"}
    signed.refresh_from_db()
    assert signed.status == ConsentDocument.Status.READY and consent_is_signed(draft)
