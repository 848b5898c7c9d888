"""The interface language: compiling the gettext catalogues, and text that must stay English.

The catalogues (``locale/<lang>/LC_MESSAGES/*.po``) are the source; the ``.mo`` files Django
reads are build output, compiled here in pure Python (polib) so that a machine with only
Python, and no GNU gettext, can build and run the app. ``scripts/dev.py``, the Dockerfile and
the test session call :func:`catalogues_compile`.

Records that outlive the request (audit summaries, snapshots, stored findings) are written in
English, the source language, whatever language the person acting reads: :func:`english`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
        partial = mo_path.with_suffix(".mo.partial")
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
