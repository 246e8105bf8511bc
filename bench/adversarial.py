"""Adversarial pack shapes (issue 13): documents built to make one validation step expensive,
each scaled to about `size` bytes of compact JSON. Used by the resource test
(tests/packs/test_resources.py), `make bench` (bench_validation) and the content fuzz.

    python -m bench.adversarial [--size BYTES] [--budget S] [--memory MB] [SHAPE ...]

runs each shape in a subprocess under a wall-clock and address-space budget and prints one line
per shape: bytes, intake + validation seconds, peak RSS, and the outcome (ok, timeout, signal,
memory). A shape is `(pack_type, content, domain_content)`: tenant shapes are checked against
`domain_content` as the import would."""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
DEFAULT_SIZE = 5 * MB - 64 * 1024  # just under PACK_MAX_BYTES, so intake accepts every shape


@dataclass(frozen=True)
class Shape:
    pack_type: str
    content: dict[str, Any]
    domain_content: dict[str, Any] | None = None


def _domain(**sections: Any) -> dict[str, Any]:
    pack = {"domainName": "Adversarial", "exceptionTypes": {"T": {"description": "t"}}}
    pack.update(sections)
    return pack


def _long_name(index: int, length: int = 196) -> str:
    """Names that differ in one character in the middle: every pair looks alike to difflib."""
    stem = f"{index:08d}"
    half = (length - len(stem)) // 2
    return "t" * half + stem + "t" * (length - half - len(stem))


def near_duplicate_tools(size: int) -> Shape:
    """Issue 13 item 2: long tool names and allow-list entries that almost match them, so each
    unknown entry asks for a closest-name hint among thousands of near misses."""
    tools = 4_000
    entries = max(1, (size - tools * 240) // 200)
    return Shape(
        "domain",
        _domain(
            tools={_long_name(i): {"description": "d"} for i in range(tools)},
            guardrails={"allowLists": [_long_name(i).replace("t", "u", 1) for i in range(entries)]},
        ),
    )


def near_duplicate_types(size: int) -> Shape:
    """Playbooks for exception types that almost match the thousands that exist."""
    types = 4_000
    count = max(1, (size - types * 230) // 240)
    return Shape(
        "domain",
        {
            "domainName": "Adversarial",
            "exceptionTypes": {_long_name(i): {"description": "d"} for i in range(types)},
            "playbooks": [
                {"exceptionType": _long_name(i).replace("t", "u", 1), "steps": []}
                for i in range(count)
            ],
        },
    )


def tenant_near_duplicate_tools(size: int) -> Shape:
    """A tenant pack approving tools that almost match the domain pack's."""
    tools = 4_000
    domain = _domain(tools={_long_name(i): {"description": "d"} for i in range(tools)})
    count = max(1, size // 200)
    tenant = {
        "tenantId": "TENANT_ADV",
        "domainName": "Adversarial",
        "approvedTools": [_long_name(i).replace("t", "u", 1) for i in range(count)],
    }
    return Shape("tenant", tenant, domain)


def tiny_keys(size: int) -> Shape:
    """5 MB of tiny keys where the schema accepts them (entity attributes)."""
    count = size // 24
    attributes = {f"a{i}": {"type": "string"} for i in range(count)}
    return Shape("domain", _domain(entities={"E": {"attributes": attributes}}))


def tiny_unsupported_keys(size: int) -> Shape:
    """5 MB of tiny keys the schema refuses: one `unsupported_key` finding each."""
    return Shape("domain", {**_domain(), **{f"k{i}": 0 for i in range(size // 12)}})


def wrong_types(size: int) -> Shape:
    """Millions of array items of the wrong type: one `wrong_type` finding each."""
    return Shape("domain", _domain(severityRules=[0] * (size // 2)))


def many_rules(size: int) -> Shape:
    """5 MB of ordinary severity rules (the recognised plain-comparison shape)."""
    count = size // 110
    rules = [
        {
            "condition": f"exceptionType == 'T' && rawPayload.amount > {i}",
            "severity": "HIGH",
        }
        for i in range(count)
    ]
    return Shape("domain", _domain(severityRules=rules))


def many_compiled_rules(size: int) -> Shape:
    """5 MB of severity rules that only the CEL compiler can check (macros, `in`, `has`)."""
    count = size // 150
    rules = [
        {
            "condition": f"has(rawPayload.a) && rawPayload.items.exists(x, x.qty > {i}) "
            f"|| rawPayload.kind in ['A', 'B']",
            "severity": "LOW",
        }
        for i in range(count)
    ]
    return Shape("domain", _domain(severityRules=rules))


def rules_times_tests(size: int) -> Shape:
    """Self-tests times rules: unguarded rules that all run for every test case."""
    rules = [
        {"condition": f"rawPayload.v == {i} || rawPayload.w in [1, 2, 3]", "severity": "HIGH"}
        for i in range(2_000)
    ]
    count = max(1, (size - 2_000 * 90) // 90)
    cases = [
        {
            "input": {"exceptionType": "T", "rawPayload": {"v": -1}},
            "expectedOutput": {"severity": "MEDIUM"},
        }
        for _ in range(count)
    ]
    return Shape("domain", _domain(severityRules=rules, testSuites=cases))


def big_test_payload(size: int) -> Shape:
    """One self-test whose payload is a long list, scanned by rules that iterate it."""
    rules = [
        {"condition": f"rawPayload.l.exists(x, x == {i + 2})", "severity": "HIGH"}
        for i in range(200)
    ]
    case = {
        "input": {"exceptionType": "T", "rawPayload": {"l": [1] * ((size - 20_000) // 2)}},
        "expectedOutput": {"severity": "MEDIUM"},
    }
    return Shape("domain", _domain(severityRules=rules, testSuites=[case]))


def costly_condition(size: int) -> Shape:
    """Short conditions that cost the square of the payload list (nested or copying macros)."""
    rules = [
        {"condition": "rawPayload.l.all(x, rawPayload.l.all(y, true))", "severity": "HIGH"},
        {"condition": "size(rawPayload.l.map(x, x)) > 0", "severity": "HIGH"},
        {"condition": "rawPayload.l.all(x, x in rawPayload.l)", "severity": "HIGH"},
    ]
    case = {
        "input": {"exceptionType": "T", "rawPayload": {"l": list(range(20_000))}},
        "expectedOutput": {"severity": "LOW"},
    }
    return Shape("domain", _domain(severityRules=rules, testSuites=[case]))


def costly_regex(size: int) -> Shape:
    """`matches` with patterns whose compiled program is huge, many times over."""
    pattern = "(.{1000}){1000}"
    condition = " || ".join([f"rawPayload.s.matches('{pattern}')"] * 50)
    case = {
        "input": {"exceptionType": "T", "rawPayload": {"s": "a"}},
        "expectedOutput": {"severity": "LOW"},
    }
    rules = [{"condition": condition, "severity": "HIGH"}] * 10
    return Shape("domain", _domain(severityRules=rules, testSuites=[case]))


def deep_cel(size: int) -> Shape:
    """Issue 13 item 1: conditions whose syntax tree is thousands of levels deep."""
    rules = [
        {"condition": "rawPayload" + ".a" * 20_000, "severity": "HIGH"},
        {"condition": "1" + " + 1" * 50_000, "severity": "HIGH"},
        {"condition": "a" + "[0]" * 20_000, "severity": "HIGH"},
        {"condition": "(" * 5_000 + "1" + ")" * 5_000, "severity": "HIGH"},
    ]
    return Shape("domain", _domain(severityRules=rules))


def long_cel(size: int) -> Shape:
    """One condition of several megabytes."""
    condition = " && ".join(["true"] * (size // 8))
    return Shape("domain", _domain(severityRules=[{"condition": condition, "severity": "LOW"}]))


def long_step_text(size: int) -> Shape:
    """Step text full of `name(` calls and words, for the tool-call scan."""
    text = "a(" * (size // 4)
    playbook = {"exceptionType": "T", "steps": [{"action": text}, {"action": "x" * (size // 4)}]}
    return Shape("domain", _domain(tools={"t": {"description": "d"}}, playbooks=[playbook]))


def many_secrets(size: int) -> Shape:
    """Plain-text secrets everywhere: one warning each."""
    steps = [{"action": "a", "parameters": {"password": "p"}} for _ in range(size // 50)]
    return Shape("domain", _domain(playbooks=[{"exceptionType": "T", "steps": steps}]))


def duplicate_playbooks(size: int) -> Shape:
    """Thousands of playbooks for the one exception type: one error each."""
    playbooks = [{"exceptionType": "T", "steps": []} for _ in range(size // 36)]
    return Shape("domain", _domain(playbooks=playbooks))


def float_numbers(size: int) -> Shape:
    """Millions of numbers that canonical JSON must normalise (integral floats, exponents)."""
    values = [1.0, 1e16, 0.1, -0.0, 12345.678] * (size // 40)
    case = {
        "input": {"exceptionType": "T", "rawPayload": {"v": values}},
        "expectedOutput": {"severity": "MEDIUM"},
    }
    return Shape("domain", _domain(testSuites=[case]))


def unicode_text(size: int) -> Shape:
    """Megabytes of non-ASCII text in descriptions (string checks and canonical JSON)."""
    types = {f"T{i}": {"description": "é漢字🙂" * 60} for i in range(size // 800)}
    return Shape("domain", {"domainName": "Adversarial", "exceptionTypes": types})


SHAPES: dict[str, Callable[[int], Shape]] = {
    function.__name__: function
    for function in (
        near_duplicate_tools,
        near_duplicate_types,
        tenant_near_duplicate_tools,
        tiny_keys,
        tiny_unsupported_keys,
        wrong_types,
        many_rules,
        many_compiled_rules,
        rules_times_tests,
        big_test_payload,
        costly_condition,
        costly_regex,
        deep_cel,
        long_cel,
        long_step_text,
        many_secrets,
        duplicate_playbooks,
        float_numbers,
        unicode_text,
    )
}


def _dump(content: dict[str, Any]) -> bytes:
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def document(name: str, size: int = DEFAULT_SIZE) -> tuple[Shape, bytes]:
    """Shape `name` and its bytes, at most `size` bytes (the generators only estimate)."""
    scaled = size
    for _ in range(4):
        shape = SHAPES[name](scaled)
        data = _dump(shape.content)
        if len(data) <= size:
            return shape, data
        scaled = int(scaled * size / len(data) * 0.98)
    return shape, data


def validate_document(shape: Shape, data: bytes) -> dict[str, Any]:
    """What a validate request does with the bytes: strict intake, the content checks of the
    import service, validation (a tenant pack against its domain pack)."""
    from onboarding.intake import load_json_object
    from packs.services.imports import _check_content
    from packs.validation import validate_domain_pack, validate_tenant_pack

    content = load_json_object(data)
    _check_content(content)
    if shape.pack_type == "tenant":
        return validate_tenant_pack(content, domain_pack_content=shape.domain_content)
    return validate_domain_pack(content)


def _child(name: str, size: int) -> None:
    """Runs in the budgeted subprocess: one JSON line with the outcome."""
    setup()
    import packs.services
    import packs.validation  # noqa: F401 - imported before the clock starts
    from onboarding.errors import ServiceError

    shape, data = document(name, size)
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        report = validate_document(shape, data)
        outcome = {"valid": report["valid"], "errors": len(report["errors"])}
        outcome["warnings"] = len(report["warnings"])
    except ServiceError as exc:
        outcome = {"refused": exc.code}
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "bytes": len(data),
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "peak_mb": round(peak),
                **outcome,
            }
        )
    )


def run_budgeted(
    name: str, *, size: int = DEFAULT_SIZE, budget_s: float = 60.0, memory_mb: int = 2048
) -> dict[str, Any]:
    """Validate shape `name` in a subprocess limited to `memory_mb` of address space and
    `budget_s` of wall clock (plus the time to build the document). `outcome` is `ok`,
    `timeout`, `signal N` (a crash) or `error` (the child failed, e.g. MemoryError)."""

    def limit() -> None:
        limit_bytes = memory_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    command = [sys.executable, "-m", "bench.adversarial", "--child", name, "--size", str(size)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
    env.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-chain-key-not-for-production")
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=budget_s + 60,
            cwd=ROOT,
            env=env,
            preexec_fn=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"name": name, "outcome": "timeout", "seconds": time.monotonic() - started}
    result: dict[str, Any] = {"name": name}
    if done.returncode < 0:
        result.update(outcome=f"signal {-done.returncode}", stderr=done.stderr[-2000:])
        return result
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        result.update(outcome="error", stderr=done.stderr[-2000:])
        return result
    result.update(json.loads(lines[-1]))
    result["outcome"] = "ok" if result["seconds"] <= budget_s else "timeout"
    return result


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
    os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-chain-key-not-for-production")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", help="shape names (default: all)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per shape")
    parser.add_argument("--memory", type=int, default=2048, help="MB of address space")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.size)
        return 0
    failed = 0
    for name in args.shapes or SHAPES:
        result = run_budgeted(name, size=args.size, budget_s=args.budget, memory_mb=args.memory)
        failed += result["outcome"] != "ok"
        detail = {k: v for k, v in result.items() if k not in ("name", "outcome", "stderr")}
        print(f"{name:28s} {result['outcome']:9s} {json.dumps(detail)}", flush=True)
        lines = (result.get("stderr") or "").strip().splitlines()
        if lines:
            print("    " + lines[-1][:200])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
