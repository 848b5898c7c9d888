"""The consent form is a tagged PDF (a structure tree a screen reader follows, its language, its
title) and stays PDF/A-3b (issue 15), read back with pypdf."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, BooleanObject, DictionaryObject

from consent.services import consent_render, consent_request


def _structure(element: Any, found: Counter[str], depth: int = 0) -> None:
    """Count the structure types below ``element`` (marked-content ids are ints, skipped)."""
    element = element.get_object()
    if isinstance(element, ArrayObject):
        for kid in element:
            _structure(kid, found, depth)
        return
    if not isinstance(element, DictionaryObject) or depth > 60:
        return
    if "/S" in element:
        found[str(element["/S"]).lstrip("/")] += 1
    if "/K" in element:
        _structure(element["/K"], found, depth + 1)


def test_the_consent_form_is_tagged_and_stays_pdf_a_3b(draft, physician):
    document = consent_render(consent_request(actor=physician, request=draft, language="it").pk)
    with document.file.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    root: Any = reader.trailer["/Root"]

    assert root["/MarkInfo"]["/Marked"] == BooleanObject(True)  # a tagged PDF
    assert root["/Lang"] == "it"  # the form's own language, from <html lang>
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == BooleanObject(True)
    tree = root["/StructTreeRoot"].get_object()
    assert tree["/Type"] == "/StructTreeRoot" and "/ParentTree" in tree
    found: Counter[str] = Counter()
    _structure(tree["/K"], found)
    assert found["Document"] == 1
    # Headings, paragraphs and lists of the form are tagged as such, not as anonymous text.
    assert found["H1"] >= 1 and found["H2"] >= 3 and found["P"] >= 10, found
    assert found["L"] >= 1 and found["LI"] >= 3, found
    for n, page in enumerate(reader.pages):
        assert page["/StructParents"] == n  # every page's content belongs to the tree
        assert page["/Tabs"] == "/S"

    # Still PDF/A-3b: the identification in the XMP metadata, and the sRGB output intent.
    xmp = reader.xmp_metadata
    assert xmp is not None
    xml = xmp.rdf_root.toxml()
    assert 'pdfaid:part="3"' in xml and 'pdfaid:conformance="B"' in xml
    intent = root["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    # WeasyPrint writes one variant's identification: no PDF/UA claim beside the PDF/A one.
    assert "pdfuaid" not in xml
