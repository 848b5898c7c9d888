"""The rules editor's form as a browser reads and posts it (issue 15), for the tests that edit
national rules on the page: the fields, ticked boxes, selected options and text areas of
``form.rule-editor``, read from the HTML the page sends."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from django.urls import reverse


class _FormReader(HTMLParser):
    """The name/value pairs a browser submits for the rules editor's form (``form.rule-editor``):
    text, number, date and hidden inputs; ticked boxes; selected options (the first when none
    is); text areas. Buttons are left out: the test names the one it presses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.in_form = False
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen = False
        self.textarea: str | None = None
        self.text = ""
        self.autofocus: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and "rule-editor" in (a.get("class") or ""):
            self.in_form = True
        if not self.in_form or "disabled" in a:
            return
        if "autofocus" in a and a.get("name"):
            self.autofocus.append(str(a["name"]))
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((name, a.get("value") or "on"))
                return
            self.pairs.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self.select, self.select_first, self.select_chosen = name, None, False
        elif tag == "option" and self.select is not None:
            value = a.get("value") or ""
            if self.select_first is None:
                self.select_first = value
            if "selected" in a:
                self.pairs.append((self.select, value))
                self.select_chosen = True
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "select" and self.select is not None:
            if not self.select_chosen and self.select_first is not None:
                self.pairs.append((self.select, self.select_first))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # The parser keeps the newline Django writes after <textarea>; a browser drops it.
            text = self.text[1:] if self.text.startswith("\n") else self.text
            self.pairs.append((self.textarea, text.replace("\n", "\r\n")))
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data


def form_of(html: str) -> dict[str, Any]:
    """The form as a browser would post it: a value per name, a list where a name repeats."""
    reader = _FormReader()
    reader.feed(html)
    data: dict[str, Any] = {}
    for name, value in reader.pairs:
        if name in data:
            data[name] = [*(data[name] if isinstance(data[name], list) else [data[name]]), value]
        else:
            data[name] = value
    return data


def autofocused(html: str) -> list[str]:
    reader = _FormReader()
    reader.feed(html)
    return reader.autofocus


def editor_data(version: Any) -> dict[str, Any]:
    """The editor of ``version`` as a browser would post it untouched (the same template as the
    page, rendered without a request)."""
    from django.template.loader import render_to_string

    from regulatory.rule_editor import RulesEditor
    from regulatory.rules import FACTS

    html = render_to_string(
        "regulatory/_rule_editor.html",
        {
            "editor": RulesEditor(None, version=version),
            "pathway": version.pathway,
            "current": version,
            "facts": FACTS.values(),
            "preview_form": None,
            "preview": None,
        },
    )
    return form_of(html)


def editor_form(client: Any, code: str, **changes: Any) -> dict[str, Any]:
    """The editor of pathway ``code`` as the page shows it, with ``changes`` typed over it."""
    response = client.get(reverse("regulatory:rule-edit", args=[code]))
    assert response.status_code == 200
    return form_of(response.content.decode()) | changes


def item_index(data: dict[str, Any], group: str, code: str) -> int:
    """The position in the form of the criterion or checklist item ``code``."""
    for n in range(int(data[f"{group}-TOTAL_FORMS"])):
        if data.get(f"{group}-{n}-code") == code:
            return n
    raise AssertionError(f"{code} is not in the {group} of the form")
