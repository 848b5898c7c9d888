"""What a signature means, in words (21 CFR 11.50(a)(3)): "approved as pharmacist",
"dispensed cycle 2".

One function, ``signature_meaning``, builds every meaning. The signature keeps the English
sentence (the record as signed) and the code and parameters, so a page in Italian shows the
same meaning translated (``meaning_display``) while the stored text never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop, override

from signatures.models import SignatureAction

A = SignatureAction

# The sentence of each act; %(role)s is the capacity the signer acts in.
_SENTENCES: dict[str, str] = {
    A.APPROVE: gettext_noop("approved as %(role)s"),
    A.REJECT: gettext_noop("rejected as %(role)s"),
    A.WITHDRAW: gettext_noop("withdrawn as %(role)s"),
    A.DISPENSE: gettext_noop("dispensed cycle %(cycle)s"),
    A.CONSENT_SIGNATURE: gettext_noop("consent signature recorded (%(how)s) as %(role)s"),
    A.CONSENT_WITHDRAWAL: gettext_noop("consent withdrawal recorded as %(role)s"),
    A.RULE_EDIT: gettext_noop("edited rule %(pathway)s version %(version)s as %(role)s"),
}
# Before the details are known (the form, before the user chose how the patient signed).
_SENTENCE_CONSENT_PENDING = gettext_noop("consent signature recorded as %(role)s")

# The capacity in the meaning: lower case, as it reads in the sentence.
_ROLE_WORDS: dict[str, str] = {
    "physician": gettext_noop("physician"),
    "pharmacist": gettext_noop("pharmacist"),
    "rule_steward": gettext_noop("national rules steward"),
    "regulatory_officer": gettext_noop("regulatory officer"),
    "hospital_admin": gettext_noop("hospital administrator"),
}

# How the patient signed a consent, as the meaning says it.
_CONSENT_HOW: dict[tuple[str, str], str] = {
    ("patient", "on_screen"): gettext_noop("patient signed on screen"),
    ("patient", "wet_ink_scan"): gettext_noop("patient signed on paper, scan uploaded"),
    ("representative", "on_screen"): gettext_noop(
        "legal representative %(representative)s signed on screen"
    ),
    ("representative", "wet_ink_scan"): gettext_noop(
        "legal representative %(representative)s signed on paper, scan uploaded"
    ),
}
_WITNESS = gettext_noop("witness %(witness)s")
_NO_WITNESS = gettext_noop("no witness")


@dataclass(frozen=True)
class Meaning:
    action: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def english(self) -> str:
        """The sentence as stored: always English, whatever the signer's language."""
        with override("en"):
            return meaning_display(self.action, self.params)

    def display(self) -> str:
        """The sentence in the active language."""
        return meaning_display(self.action, self.params)

    def display_html(self) -> str:
        """The sentence in the active language, for a page (the pathway's code as code)."""
        return meaning_display(self.action, self.params, html=True)


def signature_meaning(action: str, **params: Any) -> Meaning:
    """The meaning of one act. Parameters by act:

    approve, reject, withdraw, consent_withdrawal: ``role``;
    dispense: ``cycle``;
    consent_signature: ``role``, and once known ``signer`` ("patient"/"representative"),
    ``method`` ("on_screen"/"wet_ink_scan"), ``representative``, ``witness``;
    rule_edit: ``role``, ``pathway`` (code), ``version`` (the new version's number).
    """
    if action not in _SENTENCES:
        raise ValueError(f"no meaning for the act {action!r}")
    return Meaning(action=action, params={k: v for k, v in params.items() if v is not None})


def meaning_display(action: str, params: dict[str, Any], *, html: bool = False) -> str:
    """The sentence of a stored meaning in the active language. ``html``: escaped, with the
    pathway's code marked as code (a code, not words to translate)."""

    def text(value: Any) -> str:
        return str(conditional_escape(value)) if html else str(value)

    values: dict[str, Any] = {key: text(value) for key, value in params.items()}
    role = str(params.get("role", ""))
    values["role"] = text(gettext(_ROLE_WORDS[role]) if role in _ROLE_WORDS else role)
    if html and "pathway" in params:
        values["pathway"] = format_html("<code>{}</code>", params["pathway"])
    sentence = _SENTENCES.get(action, "%(action)s")
    if action == A.CONSENT_SIGNATURE:
        how_key = (str(params.get("signer", "")), str(params.get("method", "")))
        if how_key not in _CONSENT_HOW:
            sentence = _SENTENCE_CONSENT_PENDING
        else:
            how = gettext(_CONSENT_HOW[how_key]) % {
                "representative": text(params.get("representative", ""))
            }
            witness = str(params.get("witness", "")).strip()
            how += ", " + (
                gettext(_WITNESS) % {"witness": text(witness)} if witness else gettext(_NO_WITNESS)
            )
            values["how"] = how
    values.setdefault("action", text(action))
    try:
        result = gettext(sentence) % values
    except (KeyError, ValueError, TypeError):
        # A meaning stored with parameters this code no longer knows: show it as stored.
        result = text(f"{action} {params}")
    return mark_safe(result) if html else result  # noqa: S308 - every value escaped above


# The parts of a signing method as ``accounts.reauth`` and the sign-in record them.
_METHOD_WORDS: dict[str, str] = {
    "password": gettext_noop("password"),
    "totp": gettext_noop("authenticator code"),
    "recovery": gettext_noop("recovery code"),
    "passkey": gettext_noop("passkey"),
    "oidc": gettext_noop("hospital sign-in"),
    "mfa": gettext_noop("second factor at the hospital's sign-in"),
    "password (API token)": gettext_noop("password (API token)"),
}


def method_display(method: str) -> str:
    """The method "password+totp" as "password + authenticator code", in the active language."""
    if method in _METHOD_WORDS:
        return gettext(_METHOD_WORDS[method])
    return " + ".join(
        gettext(_METHOD_WORDS[part]) if part in _METHOD_WORDS else part
        for part in method.split("+")
    )
