"""Every action the code writes to the audit trail is a member of ``audit.actions.AuditAction``
(issue 18), so the audit viewer's filter and a report can list what the trail may hold.

Read from the source (``ast``): every call of ``audit_record``, ``audit_record_changes`` and
``model_update_audited`` (and any ``AuditEvent(...)`` built by hand) in a module that is not a
test must pass ``action=`` as one of:

- ``AuditAction.<MEMBER>``, a member the enum has;
- ``a if condition else b`` where both are allowed;
- a local name every assignment of which is allowed (``action = AuditAction.STUDY_LOADED``);
- a parameter named in ``PASS_THROUGH_PARAMETERS``, annotated ``AuditAction`` (mypy then holds
  its callers to members);
- ``AuditAction.family("<prefix>", name)``, ``<a transition or step>.audit_action`` (a property
  that returns such a call) or ``TRANSITION_AUDIT_ACTIONS[name]``: an action computed from data,
  for a family whose every name is checked below against that data (the request's transitions,
  an application's steps).

Never a string literal or an f-string. At run time ``audit_record`` refuses a non-member.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import pytest

from audit.actions import AuditAction

ROOT = Path(__file__).resolve().parent.parent
WRITERS = {"audit_record", "audit_record_changes", "model_update_audited"}
# Folders of the repository that hold no production code (or only code that is not Python).
NOT_CODE = {"tests", "locale", "static", "templates", "var", "deploy", "node_modules"}

# Functions that take the action from their caller and hand it on; the parameter must be
# annotated ``AuditAction``.
PASS_THROUGH_PARAMETERS = {
    ("audit_record", "action"),  # audit/services.py: writes the event (AuditAction(action))
    ("audit_record_changes", "action"),  # audit/services.py: the before/after event
    ("model_update_audited", "action"),  # audit/services.py: update-and-audit
    ("_download", "action"),  # reports/views.py: the CSV or XLSX export of the report
}
# Families written from data; ``test_every_family_name_has_its_member`` checks each against it.
FAMILIES = {"request", "application"}
# ``x.audit_action``: the property of ``prescriptions.workflow.Transition`` ("request") and of
# ``regulatory.services.ApplicationStep`` ("application"); every ``def audit_action`` in the
# code must return ``AuditAction.family(<one of FAMILIES>, ...)``.
FAMILY_ATTRIBUTE = "audit_action"
# ``TRANSITION_AUDIT_ACTIONS[name]``: the request's transitions' actions, by transition name.
FAMILY_MAPPINGS = {"TRANSITION_AUDIT_ACTIONS": "request"}


@dataclass(frozen=True)
class Written:
    where: str  # path:line
    call: str  # the function called
    function: str  # the function the call is in ("" at module level)
    expression: str  # the action= argument, as written
    problem: str  # empty when the action is allowed


def _modules() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0].startswith(".") or parts[0] in NOT_CODE or parts[0].endswith(".egg-info"):
            continue
        if "migrations" in parts or path.name.startswith("test_") or path.name == "conftest.py":
            continue
        yield path


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        # AuditEvent.objects.create(...) is a write as much as AuditEvent(...)
        if (
            func.attr == "create"
            and isinstance(func.value, ast.Attribute)
            and isinstance(func.value.value, ast.Name)
            and func.value.value.id == "AuditEvent"
        ):
            return "AuditEvent.objects.create"
        return func.attr
    return ""


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _enclosing_function(
    node: ast.AST, parents: dict[int, ast.AST]
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            return current
        current = parents.get(id(current))
    return None


def _parameter(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.arg | None:
    arguments = function.args
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        if arg.arg == name:
            return arg
    return None


def _is_family_call(expr: ast.AST | None) -> TypeGuard[ast.Call]:
    return (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and isinstance(expr.func.value, ast.Name)
        and expr.func.value.id == "AuditAction"
        and expr.func.attr == "family"
    )


def _family_problem(call: ast.Call) -> str:
    prefix = call.args[0] if call.args else None
    if isinstance(prefix, ast.Constant) and prefix.value in FAMILIES:
        return ""
    return f"AuditAction.family of a family not checked against data ({sorted(FAMILIES)})"


def _problem(
    expr: ast.expr,
    function: ast.FunctionDef | ast.AsyncFunctionDef | None,
    seen: frozenset[str] = frozenset(),
) -> str:
    """Why ``expr`` is not an allowed action; empty when it is."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return f"a string literal ({expr.value!r}): use AuditAction"
    if isinstance(expr, ast.JoinedStr):
        return "an f-string: use AuditAction (AuditAction.family for a data-driven family)"
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == "AuditAction"
    ):
        if expr.attr in AuditAction.__members__:
            return ""
        return f"AuditAction has no member {expr.attr}"
    if isinstance(expr, ast.IfExp):
        return _problem(expr.body, function, seen) or _problem(expr.orelse, function, seen)
    if _is_family_call(expr):
        return _family_problem(expr)
    if isinstance(expr, ast.Attribute) and expr.attr == FAMILY_ATTRIBUTE:
        return ""
    if (
        isinstance(expr, ast.Subscript)
        and isinstance(expr.value, ast.Name)
        and expr.value.id in FAMILY_MAPPINGS
    ):
        return ""
    if isinstance(expr, ast.Name) and function is not None:
        parameter = _parameter(function, expr.id)
        if parameter is not None:
            if (function.name, expr.id) not in PASS_THROUGH_PARAMETERS:
                return f"parameter {expr.id} of {function.name} is not a named pass-through"
            annotation = ast.unparse(parameter.annotation) if parameter.annotation else ""
            if annotation != "AuditAction":
                return f"pass-through {expr.id} of {function.name} is not typed AuditAction"
            return ""
        if expr.id in seen:
            return ""
        values = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
        ]
        if not values:
            return f"{expr.id} is not assigned in {function.name}"
        for value in values:
            problem = _problem(value, function, seen | {expr.id})
            if problem:
                return f"{expr.id} = {ast.unparse(value)}: {problem}"
        return ""
    pool = _pool_name(expr)
    if pool is not None:
        pooled = _MODULE_CONSTANTS.get(pool)
        if not isinstance(pooled, ast.Tuple | ast.List) or not pooled.elts:
            return f"{pool} is not a module-level tuple of actions"
        return next((p for e in pooled.elts if (p := _problem(e, None, seen))), "")
    return "not an AuditAction member, a named pass-through or a checked family"


# The current module's top-level assignments (``_written`` sets them for each file): a pool of
# actions such as the benchmark's ``AUDIT_ACTIONS`` is checked member by member.
_MODULE_CONSTANTS: dict[str, ast.expr] = {}


def _pool_name(expr: ast.expr) -> str | None:
    """``rng.choice(POOL)`` or ``POOL[i]``: one of a module-level tuple of actions."""
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "choice"
        and len(expr.args) == 1
        and isinstance(expr.args[0], ast.Name)
    ):
        return expr.args[0].id
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        return expr.value.id
    return None


def _written() -> list[Written]:
    found = []
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        if "action" not in source:
            continue
        tree = ast.parse(source)
        parents = _parents(tree)
        where = str(path.relative_to(ROOT))
        _MODULE_CONSTANTS.clear()
        _MODULE_CONSTANTS.update(
            {
                target.id: node.value
                for node in tree.body
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
        )
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node)
            if name not in WRITERS | {"AuditEvent", "AuditEvent.objects.create"}:
                continue
            action = next((k.value for k in node.keywords if k.arg == "action"), None)
            if action is None:
                if name in WRITERS:
                    found.append(
                        Written(f"{where}:{node.lineno}", name, "", "", "no action= keyword")
                    )
                continue
            function = _enclosing_function(node, parents)
            found.append(
                Written(
                    f"{where}:{node.lineno}",
                    name,
                    function.name if function is not None else "",
                    ast.unparse(action),
                    _problem(action, function),
                )
            )
    return found


WRITTEN = _written()


def test_the_walk_finds_the_audit_writes() -> None:
    """Blind otherwise: the calls are found in the apps, and the checks tell shapes apart."""
    assert len(WRITTEN) > 40
    calls = {w.call for w in WRITTEN}
    assert {"audit_record", "audit_record_changes"} <= calls
    source = (
        "def f(actor, action: AuditAction, created):\n"
        "    audit_record(actor=actor, action=AuditAction.LOGGED_IN)\n"
        "    audit_record(actor=actor, action='login.succeeded')\n"
        "    audit_record(actor=actor, action=f'request.{created}')\n"
        "    audit_record(actor=actor, action=AuditAction.NO_SUCH_MEMBER)\n"
        "    audit_record(actor=actor, action=action)\n"
        "    kind = AuditAction.USER_CREATED if created else AuditAction.USER_PASSWORD_RESET\n"
        "    audit_record(actor=actor, action=kind)\n"
        "    audit_record(actor=actor, action=AuditAction.family('request', created))\n"
        "    audit_record(actor=actor, action=AuditAction.family('consent', created))\n"
    )
    tree = ast.parse(source)
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    calls_in = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    actions = [
        next(k.value for k in call.keywords if k.arg == "action")
        for call in calls_in
        if _called_name(call) == "audit_record"
    ]
    allowed = [not _problem(action, function) for action in actions]
    # "action" of f is not a named pass-through: refused like the literals.
    assert allowed == [True, False, False, False, False, True, True, False]


def test_every_action_written_is_an_audit_action_member() -> None:
    wrong = [
        f"{w.where} {w.call}(action={w.expression}): {w.problem}" for w in WRITTEN if w.problem
    ]
    assert not wrong, "audit actions that are not AuditAction members:\n" + "\n".join(wrong)


def test_no_string_literal_action_is_written() -> None:
    literal = [
        f"{w.where} {w.call}(action={w.expression})"
        for w in WRITTEN
        if "string literal" in w.problem or "f-string" in w.problem
    ]
    assert not literal, "string-literal audit actions:\n" + "\n".join(literal)


def test_the_named_pass_throughs_are_all_used() -> None:
    """The list above names what the code does: an entry nothing uses any more goes."""
    passed_on = {(w.function, w.expression) for w in WRITTEN}
    assert passed_on >= PASS_THROUGH_PARAMETERS, PASS_THROUGH_PARAMETERS - passed_on


def test_every_audit_action_property_returns_a_checked_family() -> None:
    """``x.audit_action`` is allowed above because each such property computes its action
    with ``AuditAction.family`` for a family checked against its data."""
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == FAMILY_ATTRIBUTE:
                returns = [r.value for r in ast.walk(node) if isinstance(r, ast.Return)]
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                assert returns and all(
                    _is_family_call(r) and not _family_problem(r) for r in returns
                ), where
                found.append(where)
    assert len(found) >= 2, found  # the request's transitions and the application's steps


def test_every_family_name_has_its_member() -> None:
    """The families written from data: each transition of the request workflow and each step
    of an application has its member, and the expressions above compute exactly it."""
    from prescriptions.workflow import TRANSITION_AUDIT_ACTIONS, TRANSITIONS
    from regulatory.services import APPLICATION_STEPS

    for name, transition in TRANSITIONS.items():
        assert AuditAction(f"request.{name}") == transition.audit_action
        assert TRANSITION_AUDIT_ACTIONS[name] == AuditAction(f"request.{name}")
    for name, step in APPLICATION_STEPS.items():
        assert AuditAction(f"application.{name}") == step.audit_action
    with pytest.raises(ValueError):
        AuditAction.family("request", "no_such_transition")


@pytest.mark.django_db
def test_audit_record_refuses_an_action_that_is_not_a_member() -> None:
    from audit.models import AuditEvent
    from audit.services import audit_record

    before = AuditEvent.objects.count()
    for action in ("request.no_such_action", "report.exported_pdf", ""):
        with pytest.raises(ValueError):
            audit_record(actor=None, action=action, object_type="t", summary="s")  # type: ignore[arg-type]
    assert AuditEvent.objects.count() == before
    event = audit_record(
        actor=None, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="s"
    )
    assert event.action == "hospital.created"
    assert AuditEvent.objects.count() == before + 1


def test_a_pool_of_actions_is_checked_member_by_member() -> None:
    """The benchmark's ``rng.choice(AUDIT_ACTIONS)``: allowed only when every action of the
    module-level tuple is."""
    tree = ast.parse(
        "GOOD = (AuditAction.REQUEST_UPDATED, AuditAction.CONSENT_DOWNLOADED)\n"
        "BAD = (AuditAction.REQUEST_UPDATED, 'safety.checked')\n"
        "NOT_A_TUPLE = 3\n"
    )
    saved = dict(_MODULE_CONSTANTS)
    try:
        _MODULE_CONSTANTS.clear()
        _MODULE_CONSTANTS.update(
            {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign)}  # type: ignore[attr-defined]
        )
        problems = [
            _problem(ast.parse(text, mode="eval").body, None)
            for text in ("rng.choice(GOOD)", "GOOD[0]", "rng.choice(BAD)", "NOT_A_TUPLE[1]")
        ]
    finally:
        _MODULE_CONSTANTS.clear()
        _MODULE_CONSTANTS.update(saved)
    assert [not p for p in problems] == [True, True, False, False]
