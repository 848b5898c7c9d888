"""Stateful schemathesis: sequences of API calls chained over the links schemathesis infers from
the schema (a created request's id feeds the calls on that request, and so on), as a physician
and as a pharmacist, on the same seeded hospital as tests/test_api_schemathesis.py.

Unlike the per-operation run, calls are not rolled back one by one: a sequence sees what its
earlier steps created (the test's own transaction is rolled back at the end).

Too slow for CI's time budget; run it with ``make stateful`` (OFFLABEL_API_STATEFUL=1, and
OFFLABEL_API_STATEFUL_EXAMPLES for more sequences)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from accounts.roles import Role
from tests.api_schema import CHECKS, CONFIG
from tests.test_api_schemathesis import World, api_world

__all__ = ["api_world"]

pytestmark = pytest.mark.skipif(
    not os.environ.get("OFFLABEL_API_STATEFUL"),
    reason="stateful API run: make stateful (too slow for CI)",
)
EXAMPLES = int(os.environ.get("OFFLABEL_API_STATEFUL_EXAMPLES", "25"))


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.PHARMACIST])
def test_api_call_sequences_conform_to_the_schema(api_world: World, role: str) -> None:
    headers = {"Authorization": f"Token {api_world.tokens[role]}"}
    loaded = schemathesis.openapi.from_wsgi(
        "/api/schema/", get_wsgi_application(), config=CONFIG, headers=headers
    )
    machine: Any = loaded.as_state_machine()
    # Transitions between operations: the links schemathesis inferred from the schema.
    links = [name for name in vars(machine) if "___" in name and not name.startswith("RANDOM")]
    assert len(links) >= 50, "schemathesis found (almost) no link between the operations"
    calls: list[str] = []

    class Sequences(machine):
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            calls.append(f"{case.method} {case.formatted_path}")
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Sequences.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert len(calls) > EXAMPLES, calls  # sequences ran, not single calls
