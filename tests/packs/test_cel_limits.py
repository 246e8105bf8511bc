"""Conditions the CEL library cannot survive or cannot evaluate in bounded time are refused
before it sees them (issue 13 item 1), on every path that compiles one: validation (API, page,
command), the runtime load and the evaluation of payloads."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from packs.cel import (
    Activation,
    Budget,
    CelError,
    EvaluationTooCostly,
    compile_condition,
    compile_conditions,
    condition_matches,
)
from packs.cel_scan import MAX_DEPTH, MAX_NESTING, MAX_TOKENS, pattern_cost, scan_condition
from packs.models import DomainPack
from packs.validation import validate_domain_pack
from tests.ui.conftest import HTMX, browser, demo_active, demo_packs  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
# The three crashing conditions, and nested brackets.
CRASHERS = {
    "member chain": "rawPayload" + ".a" * 20_000,
    "sum chain": "1" + " + 1" * 50_000,
    "index chain": "a" + "[0]" * 20_000,
    "brackets": "(" * 5_000 + "1" + ")" * 5_000,
}


def _domain(*conditions: str) -> dict:
    return {
        "domainName": "Limits",
        "exceptionTypes": {"T": {"description": "t"}},
        "severityRules": [{"condition": text, "severity": "HIGH"} for text in conditions],
    }


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_compile_condition__crashing_shape__cel_error_with_position(name):
    with pytest.raises(CelError) as caught:
        compile_condition(CRASHERS[name])
    assert caught.value.position is not None and caught.value.line == 1
    assert "limit" in caught.value.message


@pytest.mark.parametrize(
    ("condition", "column", "words"),
    [
        ("rawPayload" + ".a" * (MAX_DEPTH + 1), 10 + 2 * MAX_DEPTH + 1, "nested too deeply"),
        ("(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1), MAX_NESTING + 1, "nested more"),
        ("true ? 1 : " * (MAX_NESTING + 1) + "1", None, "nested more"),
        ("a||" * (MAX_TOKENS // 2 + 5) + "a", None, f"more than {MAX_TOKENS} tokens"),
        ("rawPayload.l.all(x, rawPayload.l.all(y, true))", 21, "only x"),
        ("rawPayload.l.all(x, x.all(y, true))", 23, "inside all()"),
        ("size(rawPayload.l.map(x, x)) > 0", 19, "square of the list"),
        ("size(rawPayload.l.filter(x, true)) > 0", 19, "square of the list"),
        ("rawPayload.l.all(x, x in rawPayload.l)", 26, "only x"),
        ("rawPayload.s.matches('(.{1000}){1000}')", 22, "too costly"),
        ("rawPayload.s.matches(rawPayload.p)", 14, "string literal"),
        ("matches(rawPayload.s, 'a')", 1, "text.matches"),
        ("rawPayload.l.exists(x, string(x).matches('a'))", 34, "once per element"),
        ("rawPayload.l.exists(x, x == 'open)", 29, "not closed"),
        ("\n\n" + "rawPayload" + ".a" * (MAX_DEPTH + 1), None, "nested too deeply"),
    ],
)
def test_compile_condition__over_a_limit__invalid_with_column(condition, column, words):
    with pytest.raises(CelError) as caught:
        compile_condition(condition)
    assert words in caught.value.message
    if column is not None:
        assert caught.value.position == column
    if condition.startswith("\n\n"):
        assert caught.value.line == 3


@pytest.mark.parametrize(
    "condition",
    [
        "exceptionType == 'SEC_MASTER_MISMATCH' && rawPayload.impact == 'ECONOMIC'",
        "rawPayload.items.exists(i, i.qty > 5 && has(i.price))",
        "rawPayload.trades.all(t, type(t.amount) == int && t.amount >= 0)",
        "rawPayload.legs.exists_one(l, l.side == 'BUY')",
        "rawPayload.isin.matches('^[A-Z]{2}[A-Z0-9]{9}[0-9]$')",
        "rawPayload.kind in ['A', 'B'] || size(rawPayload.notes) > 3",
        "has(rawPayload.a) ? rawPayload.a.b.c.d > 1 : rawPayload.e == null",
        "rawPayload" + ".a" * MAX_DEPTH,
        "(" * MAX_NESTING + "1" + ")" * MAX_NESTING + " == 1",
    ],
)
def test_compile_condition__real_and_limit_shapes__accepted(condition):
    compiled = compile_condition(condition)
    compiled.program  # noqa: B018 - compiles
    assert compiled.fixed_cost > 0


def test_pattern_cost__unicode_classes_and_repetition__estimated_high():
    assert pattern_cost("'^[A-Z]{2}[A-Z0-9]{9}[0-9]$'") < 100
    assert pattern_cost("'\\\\w{20}'") > 4_000
    assert pattern_cost("'(a{0,100}){0,100}'") >= 10_000
    assert pattern_cost("'(?i)abc'") > 3 * pattern_cost("'(?:abc)'")


def test_scan_condition__large_text__linear_and_refused_early():
    # The shortcut and the full scan refuse by length before reading the rest.
    with pytest.raises(Exception, match="characters long"):
        scan_condition("a" * 5_000_000)


_SURVIVE = textwrap.dedent(
    """
    import gc, sys, threading
    import django
    django.setup()
    from packs.cel import Activation, compile_condition, condition_matches
    conditions = __CONDITIONS__
    deep = {}
    node = deep
    for _ in range(80):
        node["a"] = {}
        node = node["a"]
    payload = {"a": deep["a"], "l": [[[[1]]]]}
    def run():
        for text in conditions:
            compiled = compile_condition(text)
            compiled.program
            condition_matches(compiled, {"exceptionType": "T", "rawPayload": payload})
            condition_matches(compiled, Activation("T", payload))
            del compiled
            gc.collect()
        print("survived", len(conditions))
    threading.stack_size(256 * 1024)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    """
)


def _deepest_accepted(template) -> str:
    """The largest n for which `template(n)` passes the pre-scan (they grow monotonically)."""
    low, high = 1, 4_000
    while low < high:
        middle = (low + high + 1) // 2
        try:
            scan_condition(template(middle))
            low = middle
        except Exception:
            high = middle - 1
    return template(low)


WORST_ACCEPTED = {
    "member": lambda n: "rawPayload" + ".a" * n,
    "sum": lambda n: "1" + " + 1" * n,
    "index": lambda n: "rawPayload.l" + "[0]" * n,
    "parens": lambda n: "(" * n + "rawPayload.a" + ")" * n,
    "lists": lambda n: "[" * n + "1" + "]" * n + " == []",
    "maps": lambda n: "{1:" * n + "1" + "}" * n + " == {}",
    "calls": lambda n: "size(" * n + "'a'" + ")" * n + " > 0",
    "ternaries": lambda n: "rawPayload.a ? 1 : " * n + "2",
    "parens of chains": lambda n: "(rawPayload.a.a.a + " * n + "1" + ")" * n,
    "chain in brackets": lambda n: "(" * MAX_NESTING + "rawPayload" + ".a" * n + ")" * MAX_NESTING,
    "chain in comprehension": lambda n: (
        "rawPayload.l.exists(x, "
        + "(" * (MAX_NESTING - 2)
        + "x"
        + ".a" * n
        + ")" * (MAX_NESTING - 2)
        + ")"
    ),
    "negations": lambda n: "!" * n + "true",
    "minus": lambda n: "-" * n + "1 < 0",
    "conjunction": lambda n: " && ".join(["rawPayload.a.a"] * n),
}


def test_worst_accepted_conditions__thread_with_256_kib_stack__compile_evaluate_and_free():
    """What the pre-scan accepts is safe where the stack is small (threaded servers): the
    deepest accepted instance of each shape is compiled, evaluated and freed in a thread with a
    256 KiB stack, in a subprocess. Before the pre-scan, a chain of 376 links killed it."""
    conditions = [_deepest_accepted(template) for template in WORST_ACCEPTED.values()]
    script = _SURVIVE.replace("__CONDITIONS__", repr(conditions))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "onboarding.settings",
            "PYTHONPATH": f"{ROOT}",
        },
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert f"survived {len(conditions)}" in done.stdout


def test_compile_conditions__beyond_the_compile_budget__rest_refused(monkeypatch):
    from packs import cel

    monkeypatch.setattr(cel, "COMPILE_BUDGET", 200)
    results = compile_conditions(
        [f"rawPayload.l.exists(x, x == {i})" for i in range(10)] + ["exceptionType == 'T'"]
    )
    compiled = [r for r in results[:10] if not isinstance(r, CelError)]
    refused = [r for r in results[:10] if isinstance(r, CelError)]
    assert 0 < len(compiled) < 10 and "Not compiled" in refused[0].message
    assert not isinstance(results[10], CelError)  # plain comparisons cost no budget


def test_activation__payload_over_the_budget__evaluation_too_costly():
    payload = {"l": list(range(1_000))}
    compiled = compile_condition("rawPayload.l.exists(x, x == 999)")
    assert condition_matches(compiled, Activation("T", payload)) is True
    with pytest.raises(EvaluationTooCostly):
        Activation("T", payload, budget=Budget(1_000))
    activation = Activation("T", payload, budget=Budget(40_000))
    with pytest.raises(EvaluationTooCostly):
        for _ in range(100):
            condition_matches(compiled, activation)


def test_condition_matches__activation__same_answers_as_a_plain_dict():
    payload = {"amount": 5, "items": [{"qty": 3}], "kind": "A"}
    for text in (
        "rawPayload.amount > 4",
        "rawPayload.items.exists(i, i.qty > 2)",
        "rawPayload.missing == 1",
        "exceptionType == 'T' && rawPayload.kind in ['A']",
        "1 + 1",
    ):
        compiled = compile_condition(text)
        plain = condition_matches(compiled, {"exceptionType": "T", "rawPayload": payload})
        assert condition_matches(compiled, Activation("T", payload)) is plain


# --- the doors ---------------------------------------------------------------------------------


def test_validate_api__viewer_sends_crashing_conditions__200_report_invalid_condition(viewer):
    response = viewer.client.post(
        "/admin/packs/validate",
        {"pack_type": "domain", "content": _domain(*CRASHERS.values())},
        format="json",
    )
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is False
    assert [(f["code"], f["path"]) for f in report["errors"]] == [
        ("invalid_condition", f"/severityRules/{index}/condition") for index in range(4)
    ]
    assert all(f["hint"].startswith("column ") for f in report["errors"])
    assert not DomainPack.objects.exists()


def test_validate_page__crashing_condition__report_names_the_rule(viewer):
    text = json.dumps(_domain(CRASHERS["member chain"]))
    response = browser(viewer).post(
        "/admin/packs/validate", {"pack_type": "domain", "content": text}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "invalid_condition" in body and "/severityRules/0/condition" in body
    assert not DomainPack.objects.exists()


def test_import_api__costly_condition__400_pack_invalid_nothing_stored(admin):
    response = admin.client.post(
        "/admin/packs/domain/import",
        {"content": _domain("rawPayload.l.all(x, rawPayload.l.all(y, true))")},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "pack_invalid"
    assert response.json()["errors"][0]["code"] == "invalid_condition"
    assert not DomainPack.objects.exists()


def test_validate_pack_command__crashing_condition__exit_1_with_report(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(_domain(CRASHERS["sum chain"], CRASHERS["index chain"])))
    done = subprocess.run(
        [sys.executable, "manage.py", "validate_pack", str(path), "--type", "domain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert [f["code"] for f in report["errors"]] == ["invalid_condition", "invalid_condition"]


def test_validate_domain_pack__self_tests_over_budget__skipped_with_warning():
    pack = _domain(*[f"rawPayload.v == {i} || rawPayload.w in [1, 2]" for i in range(300)])
    small = {
        "input": {"exceptionType": "T", "rawPayload": {"v": 1}},
        "expectedOutput": {"severity": "LOW"},
    }
    large = {
        "input": {"exceptionType": "T", "rawPayload": {"v": -1, "l": list(range(2_000))}},
        "expectedOutput": {"severity": "MEDIUM"},
    }
    pack["testSuites"] = [small, small, *[large] * 50]
    report = validate_domain_pack(pack)
    assert report["valid"] is True
    codes = [(w["code"], w["path"]) for w in report["warnings"]]
    # The small cases ran (and failed: HIGH, not LOW); the large ones were skipped as a block.
    assert codes == [
        ("self_test_failed", "/testSuites/0"),
        ("self_test_failed", "/testSuites/1"),
        ("self_test_skipped", "/testSuites/2"),
    ]


def test_runtime_load__stored_crashing_condition__rule_disabled_not_the_process(caplog):
    """A row that bypassed validation (written before the pre-scan existed) is refused by the
    runtime's compile as well: the rule never matches and an error is logged."""
    from runtime_config.effective import _compile_rules

    rules = _compile_rules(
        "TENANT_X",
        [
            {"condition": CRASHERS["member chain"], "severity": "HIGH"},
            {"condition": "exceptionType == 'T'", "severity": "LOW"},
        ],
    )
    assert rules[0].compiled is None and rules[1].compiled is not None
    assert "does not compile" in caplog.text


_LARGE_PAYLOAD = '{"l": [' + ",".join(["0"] * 400_000) + "]}"


@pytest.mark.usefixtures("demo_active")
def test_evaluate_api__payload_too_large_for_the_rules__400_evaluation_too_costly(admin):
    body = (
        '{"tenant_id": "TENANT_FINANCE_001", "exception_type": "SETTLEMENT_FAIL", '
        f'"payload": {_LARGE_PAYLOAD}}}'
    )
    response = admin.client.post("/ops/exceptions/evaluate", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "evaluation_too_costly"
    assert response.json()["errors"][0]["path"] == "/payload"


@pytest.mark.usefixtures("demo_active")
def test_evaluate_page__payload_too_large_for_the_rules__400_evaluation_too_costly(admin):
    response = browser(admin).post(
        "/ops/exceptions/evaluate",
        {
            "tenant_id": "TENANT_FINANCE_001",
            "exception_type": "SETTLEMENT_FAIL",
            "payload": _LARGE_PAYLOAD,
        },
        **HTMX,
    )
    assert response.status_code == 400
    assert b"evaluation_too_costly" in response.content
