"""A domain pack's self-tests (DESIGN §7): each `testSuites` case run through the pack's own
severity rules and playbooks, a mismatch reported as a `self_test_failed` warning. All cases of
one validation share one evaluation budget (packs.cel.Budget); what it cannot afford is reported
as skipped."""

import heapq
from typing import Any

from packs.cel import (
    Activation,
    Budget,
    EvaluationTooCostly,
    condition_matches,
)
from packs.content import playbook_id
from packs.schema_findings import show_value

DEFAULT_SEVERITY = "MEDIUM"
# Self-tests of one validation, in packs.cel cost units (about 0.2 µs each, so at most about half
# a second); a real pack's suite uses well under 1 %.
SELF_TEST_BUDGET = 2_500_000


class _RuleIndex:
    """The compiled rules grouped by the one exception type each can match (when known), so a
    self-test only evaluates the rules that could apply, still in rule order."""

    def __init__(self, compiled: list[tuple[int, Any, str]]):
        self.compiled = compiled
        self.by_type: dict[str, list[int]] = {}
        self.unguarded: list[int] = []
        for position, (_, program, _) in enumerate(compiled):
            guard = program.exception_type
            if guard is None:
                self.unguarded.append(position)
            else:
                self.by_type.setdefault(guard, []).append(position)

    def evaluate(self, activation: Activation) -> tuple[str, int | None]:
        """First matching rule's severity and index, else the default and None. Each rule
        evaluated is charged to the activation's budget."""
        kind = activation.exception_type
        guarded = self.by_type.get(kind, []) if isinstance(kind, str) else []
        for position in heapq.merge(guarded, self.unguarded):
            index, program, severity = self.compiled[position]
            if condition_matches(program, activation):
                return severity, index
        return DEFAULT_SEVERITY, None


def run_self_tests(content: dict[str, Any], compiled: list[tuple[int, Any, str]], report) -> None:
    cases = content.get("testSuites")
    if not isinstance(cases, list):
        return
    rules = _RuleIndex(compiled)
    declared = content.get("playbooks")
    # A wrong type is reported by the schema; the self-tests then run without playbooks.
    playbooks = {
        playbook.get("exceptionType"): playbook_id(playbook)
        for playbook in reversed(declared if isinstance(declared, list) else [])
        if isinstance(playbook, dict) and _hashable(playbook.get("exceptionType"))
    }
    budget = Budget(SELF_TEST_BUDGET)
    for index, case in enumerate(cases):
        if not isinstance(case, dict):
            continue
        given, expected = case.get("input"), case.get("expectedOutput")
        if not isinstance(given, dict) or not isinstance(expected, dict):
            continue
        try:
            _run_self_test(index, given, expected, rules, playbooks, budget, report)
        except EvaluationTooCostly:
            report.warning(
                "self_test_skipped",
                f"/testSuites/{index}",
                f"{_cases_from(index, len(cases))} not run: with their payloads, the conditions "
                f"would cost more than the {SELF_TEST_BUDGET:,} units a validation may spend on "
                "self-tests.",
            )
            return


def _run_self_test(
    index: int,
    given: dict[str, Any],
    expected: dict[str, Any],
    rules: _RuleIndex,
    playbooks: dict[Any, str],
    budget: Budget,
    report,
) -> None:
    exception_type = given.get("exceptionType")
    kind = _show_value(exception_type)
    path = f"/testSuites/{index}"
    want = expected.get("severity")
    if want is not None:
        activation = Activation(exception_type, given.get("rawPayload", {}), budget=budget)
        got, rule = rules.evaluate(activation)
        if got != want and not report.skip_warning():
            source = (
                f"from /severityRules/{rule}"
                if rule is not None
                else "no severity rule matches, so the default applies"
            )
            report.warning(
                "self_test_failed",
                path,
                f"Expected severity {_show_value(want)} for {kind}, got {got} ({source}).",
            )
    want_playbook = expected.get("playbookId")
    if want_playbook is not None:
        got_playbook = playbooks.get(exception_type) if _hashable(exception_type) else None
        if got_playbook != want_playbook and not report.skip_warning():
            report.warning(
                "self_test_failed",
                path,
                f"Expected playbook {_show_value(want_playbook)} for {kind}, "
                f"got {_show_value(got_playbook) if got_playbook else 'none'}.",
            )
    want_type = expected.get("exceptionType")
    if want_type is not None and want_type != exception_type and not report.skip_warning():
        report.warning(
            "self_test_failed",
            path,
            f"Expected exception type {_show_value(want_type)}, got {kind}.",
        )


def _cases_from(index: int, count: int) -> str:
    if index == count - 1:
        return f"Self-test {index} was"
    return f"Self-tests {index} to {count - 1} were"


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _show_value(value: Any) -> str:
    """A value from the pack in a message: strings as written, anything else as short JSON."""
    if isinstance(value, str):
        return value if len(value) <= 60 else value[:60] + "…"
    return show_value(value)
