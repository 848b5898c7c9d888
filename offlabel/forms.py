"""Form helpers shared by the apps."""

from __future__ import annotations

from typing import Any


def form_errors_text(form: Any) -> str:
    """A form's errors in one line, for forms posted from a section of a larger page."""
    return "; ".join(
        f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
    )
