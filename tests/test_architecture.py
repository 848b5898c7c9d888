"""The apps' import layers and the structural rules of issue 18, read from the source.

The layers, bottom to top (README, "Architecture"); a module may import its own app, an app
its layer allows, and anything below. Every import counts: module-level, inside a function,
under ``TYPE_CHECKING``.

The walk is over the source text (``ast``), not over what happens to be imported at run time,
so a function-local import that would dodge a cycle is found as well.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. Apps in one layer may not import each other, except where ``MUTUAL`` says so.
LAYERS: list[tuple[str, ...]] = [
    ("offlabel",),  # the platform: settings' helpers, errors, dates, uploads, rendering claims
    ("accounts", "audit"),
    ("signatures", "signing", "evidence"),
    ("prescriptions",),  # the request
    ("pharmacy",),
    ("regulatory", "consent"),
    ("followup",),
    ("reports",),
]
# Users and hospitals are audited, and audit events name users and hospitals.
MUTUAL = {frozenset({"accounts", "audit"})}
# The composition root: it wires every app together and may import any of them.
COMPOSITION = {
    "offlabel.urls",
    "offlabel.settings",
    "offlabel.celery",
    "offlabel.wsgi",
    "offlabel.asgi",
}
APPS = {app for layer in LAYERS for app in layer}
LAYER_OF = {app: index for index, layer in enumerate(LAYERS) for app in layer}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    path: str  # relative to the repository, with the line
    target: str  # the imported module, dotted
    local: bool  # inside a function


def _modules() -> Iterator[tuple[str, Path]]:
    for app in sorted(APPS):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).with_suffix("")
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _imports_in(module: str, source: str, where: str) -> list[Import]:
    tree = ast.parse(source)
    local_nodes = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [node.module]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        for target in targets:
            if target.split(".")[0] in APPS:
                found.append(
                    Import(module, f"{where}:{node.lineno}", target, id(node) in local_nodes)
                )
    return found


def _imports() -> list[Import]:
    found = []
    for module, path in _modules():
        where = str(path.relative_to(ROOT))
        found += _imports_in(module, path.read_text(encoding="utf-8"), where)
    return found


IMPORTS = _imports()


def _app(module: str) -> str:
    return module.split(".")[0]


def _allowed(importer: str, target: str) -> bool:
    source, imported = _app(importer), _app(target)
    if importer in COMPOSITION or source == imported:
        return True
    if frozenset({source, imported}) in MUTUAL:
        return True
    if source == "offlabel":  # the platform imports no app
        return False
    return LAYER_OF[imported] < LAYER_OF[source]


def test_every_app_is_in_a_layer() -> None:
    on_disk = {
        path.parent.name
        for path in ROOT.glob("*/apps.py")
        if (path.parent / "__init__.py").exists()
    }
    assert on_disk <= APPS, f"apps in no layer: {sorted(on_disk - APPS)}"


def test_imports_follow_the_layers() -> None:
    wrong = [
        f"{i.path} ({i.module} imports {i.target}{', inside a function' if i.local else ''})"
        for i in IMPORTS
        if not _allowed(i.module, i.target)
    ]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_walk_sees_every_kind_of_import() -> None:
    """The rules below would be blind without this: module-level, ``TYPE_CHECKING`` and
    function-local imports are all found, and only the last marked local."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import consent.models\n"
        "if TYPE_CHECKING:\n"
        "    from regulatory.models import Pathway\n"
        "def f():\n"
        "    from followup import selectors\n"
        "    import django.db\n"
    )
    found = _imports_in("pharmacy.x", source, "pharmacy/x.py")
    assert [(i.target, i.local) for i in found] == [
        ("consent.models", False),
        ("regulatory.models", False),
        ("followup", True),
    ]
    assert not any(_allowed(i.module, i.target) for i in found)


@pytest.mark.parametrize(
    ("importer", "target", "allowed"),
    [
        ("pharmacy.services", "prescriptions.models", True),
        ("prescriptions.views", "pharmacy.views", False),
        ("regulatory.rules", "consent.services", False),
        ("consent.services", "regulatory.services", False),
        ("audit.services", "accounts.models", True),
        ("accounts.services", "audit.services", True),
        ("offlabel.uploads", "accounts.models", False),
        ("offlabel.urls", "reports.views", True),
        ("reports.views", "followup.models", True),
        ("followup.views", "reports.views", False),
    ],
)
def test_layer_rule_examples(importer: str, target: str, allowed: bool) -> None:
    assert _allowed(importer, target) is allowed


def test_no_function_local_import_between_apps() -> None:
    """A function-local import of another app is how a cycle hides. The ones left are those
    Django's app loading needs (``AppConfig.ready`` connects receivers and registers hooks:
    the app registry is not ready when ``apps.py`` is imported)."""
    wrong = [
        f"{i.path} ({i.module} imports {i.target})"
        for i in IMPORTS
        if i.local and _app(i.module) != _app(i.target) and not i.module.endswith(".apps")
    ]
    assert not wrong, "function-local imports of another app:\n" + "\n".join(wrong)


# --- One policy module ---------------------------------------------------------------------

POLICY_FUNCTIONS = (
    "requests_visible_to",
    "patients_visible_to",
    "request_get_visible",
    "request_get_prescribed",
    "same_hospital",
    "require_same_hospital",
    "request_lock_for_change",
    "require_role",
    "acts_as_prescriber",
    "prescriber_rule_met",
)
# The local copies the policy module replaced (issue 18's count: fifteen of them).
REPLACED_NAMES = (
    "_visible_request",
    "_request",
    "_locked_request",
    "_locked",
    "_request_for_change",
    "treated_request_for_change_lock",
    "_require_same_hospital",
    "_require_pharmacist",
    "_require_role",
    "_require_pharmacy",
    "_own_editable",
    "_prescribed_by_user",
)


def _definitions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for _module, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.setdefault(node.name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_each_policy_function_is_defined_once_in_the_policy_module() -> None:
    definitions = _definitions()
    for name in POLICY_FUNCTIONS:
        assert definitions.get(name) == [definitions[name][0]] and definitions[name][0].startswith(
            "prescriptions/policies.py:"
        ), (
            name,
            definitions.get(name),
        )


def test_the_replaced_local_copies_are_gone() -> None:
    definitions = _definitions()
    left = {name: definitions[name] for name in REPLACED_NAMES if name in definitions}
    assert not left, f"local copies of a policy: {left}"


# Two comparisons of hospitals that are not "may this user see or change this record":
HOSPITAL_COMPARISONS_ELSEWHERE = {
    # The sign-in: the hospital the provider names must be the account's.
    "accounts/oidc.py",
    # The API's refusal of a URL naming another hospital's record answers 404, not 403: the
    # platform's error handler asks it, below every app (it reads each record's hospital
    # through the routes' table and compares it with the user's).
    "offlabel/hospital_records.py",
}
_HOSPITAL_COMPARISON = re.compile(r"hospital_id\s*(!=|==)|(!=|==)\s*[\w.]*hospital_id\b")


def test_no_inline_hospital_comparison_outside_the_policy_module_and_models() -> None:
    wrong = []
    for _module, path in _modules():
        relative = str(path.relative_to(ROOT))
        if relative == "prescriptions/policies.py" or path.name == "models.py":
            continue
        if relative in HOSPITAL_COMPARISONS_ELSEWHERE:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if _HOSPITAL_COMPARISON.search(code):
                wrong.append(f"{relative}:{number}: {line.strip()}")
    assert not wrong, "hospital comparisons outside prescriptions/policies.py:\n" + "\n".join(wrong)


# --- State groups -----------------------------------------------------------------------------

STATE_GROUP_NAMES = (
    "QUEUE_STATES",
    "WAITING_FOR_PHYSICIAN",
    "TREATED_STATES",
    "DISPENSABLE",
    "TLS_EDITABLE",
    "DECISIONS",
    "_ACTIVE_STATES",
    "AWAITING_DECISION",
)


def test_state_groups_are_defined_on_the_model_only() -> None:
    """A group of request states is a class attribute of ``OffLabelRequest``; no module keeps
    its own copy under the old names."""
    wrong = []
    for _module, path in _modules():
        if path == ROOT / "prescriptions" / "models.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in STATE_GROUP_NAMES:
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {target.id}")
    assert not wrong, wrong


def test_the_model_state_groups() -> None:
    from prescriptions.models import OffLabelRequest as R

    S = R.Status
    assert set(R.QUEUE_STATES) == {
        S.SUBMITTED,
        S.RESUBMITTED,
        S.IN_REVIEW,
        S.AWAITING_AUTHORISATION,
        S.APPROVED,
    }
    assert set(R.TLS_EDITABLE_STATES) == set(S) - {S.COMPLETED, S.REJECTED, S.WITHDRAWN}
    assert set(R.DECISION_PENDING_STATES) == {S.DRAFT, *R.AWAITING_DECISION_STATES}
    assert set(R.EDITABLE_STATES) == {S.DRAFT, S.CHANGES_REQUESTED}
    assert set(R.WITH_PHARMACY_STATES) == set(R.AWAITING_DECISION_STATES) - {S.CHANGES_REQUESTED}
    assert set(R.DISPENSABLE_STATES) == {S.APPROVED, S.ACTIVE}
    assert set(R.TREATED_STATES) == {S.ACTIVE, S.COMPLETED, S.SUSPENDED}
    assert set(R.CLOSED_STATES) == {S.COMPLETED, S.REJECTED, S.WITHDRAWN}
    assert set(R.DECISION_STATES) == {S.APPROVED, S.REJECTED, S.AWAITING_AUTHORISATION}
    # The partial index of the queue is written out in the model's Meta (a migration keeps
    # it): it must name the same states.
    index = next(i for i in R._meta.indexes if i.name == "request_waiting_idx")
    condition = dict(index.condition.children)
    assert set(condition["status__in"]) == set(R.QUEUE_STATES)
