from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from tests.pharmacy.conftest import approve, approved  # noqa: F401 - fixtures used here
from tests.prescriptions.conftest import (  # noqa: F401 - fixtures used by these tests
    checklist_complete,
    draft,
    patient,
)


@pytest.fixture(autouse=True)
def _fresh_failure_counts() -> Any:
    """Failed re-authentications are counted in the shared cache; each test starts at zero."""
    cache.clear()
    yield
    cache.clear()
