"""Validation benchmark (issues 3 and 13): full validation end to end — strict intake, schema,
cross-references, CEL compilation, self-tests, checksum — of the reference finance domain pack,
of a generated ~1 MB pack and of the worst adversarial shape per MB (bench.adversarial), each
next to a baseline measured in the same run (`json.loads` of the same bytes). Run alone with
`python -m bench.bench_validation`."""

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "reference" / "domain_capital_markets.json"
TARGET_REFERENCE_MS = 2.0
TARGET_GENERATED_MS = 50.0
# Issue 13: a 5 MB pack of any shape validates in 2 s.
TARGET_WORST_S_PER_MB = 0.4


def generated_pack(
    *, tools: int = 2000, exception_types: int = 2000, rules: int = 4000, playbooks: int = 200
) -> dict[str, Any]:
    """A valid domain pack of about 1 MB with the given counts."""
    tool_names = [f"tool{index:05d}" for index in range(tools)]
    type_names = [f"EXC_{index:05d}" for index in range(exception_types)]
    severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    severity_rules = []
    for index in range(rules):
        name = type_names[index % exception_types]
        if index % 2:
            condition = f"exceptionType == '{name}' && rawPayload.amount > {index * 10}"
        else:
            condition = f"exceptionType == '{name}'"
        severity_rules.append({"condition": condition, "severity": severities[index % 4]})
    return {
        "domainName": "BenchDomain",
        "version": "1.0",
        "entities": {
            f"Entity{index}": {
                "attributes": {
                    "id": {"type": "string", "required": True},
                    "amount": {"type": "number", "required": False},
                },
                "relations": [],
            }
            for index in range(50)
        },
        "exceptionTypes": {
            name: {"description": f"Generated exception type {name} for the benchmark."}
            for name in type_names
        },
        "severityRules": severity_rules,
        "tools": {
            name: {
                "description": f"Generated tool {name}.",
                "parameters": {"orderId": {"type": "string", "required": True}},
                "endpoint": f"https://api.example.com/bench/{name}",
            }
            for name in tool_names
        },
        "playbooks": [
            {
                "exceptionType": type_names[index],
                "steps": [
                    {
                        "action": f"Fetch evidence using {tool_names[index]}",
                        "tool": tool_names[index],
                        "parameters": {},
                    },
                    {
                        "action": f"Repair with {tool_names[index + 1]}(orderId) and verify",
                        "parameters": {},
                    },
                    {"action": "Notify the operations team", "parameters": {}},
                ],
            }
            for index in range(playbooks)
        ],
        "guardrails": {
            "allowLists": tool_names[:100],
            "blockLists": tool_names[-10:],
            "humanApprovalThreshold": 0.8,
        },
        "testSuites": [
            {
                "input": {"exceptionType": type_names[index], "rawPayload": {"amount": 5}},
                "expectedOutput": {"severity": severities[index % 4]},
            }
            for index in range(10)
        ],
    }


def _timed(func: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU-time samples in ms. CPU time is the steadier figure when other
    processes share the cores."""
    func()  # warm-up: imports, schema compilation, caches of the interpreter
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        func()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, cpu


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def validate_bytes(data: bytes) -> dict[str, Any]:
    from onboarding.intake import load_json_object
    from packs.validation import validate_domain_pack

    return validate_domain_pack(load_json_object(data))


def _row(name: str, data: bytes, repeat: int, target: float) -> dict[str, Any]:
    report = validate_bytes(data)
    if not report["valid"]:
        raise RuntimeError(f"{name}: the benchmark pack is invalid: {report['errors'][:3]}")
    samples, cpu = _timed(lambda: validate_bytes(data), repeat)
    baseline, baseline_cpu = _timed(lambda: json.loads(data), repeat)
    median, base = statistics.median(samples), statistics.median(baseline)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "name": name,
        "median_ms": round(median, 3),
        "p95_ms": round(_p95(samples), 3),
        "baseline_name": "json.loads of the same bytes",
        "baseline_median_ms": round(base, 3),
        "ratio": round(median / base, 1) if base else None,
        "target": f"<= {target:g} ms",
        "pass": median <= target,
        "value": round(median, 3),
        "unit": "ms",
        "baseline": round(base, 3),
        "note": (
            f"CPU time median {statistics.median(cpu):.2f} ms "
            f"(baseline {statistics.median(baseline_cpu):.2f} ms); "
            f"1-min load average {load:.1f} on {os.cpu_count()} CPUs"
        ),
    }


def worst_shape_row(repeat: int = 3) -> dict[str, Any]:
    """Every adversarial shape of bench.adversarial once (intake + validation, as a validate
    request does), then the slowest per MB again `repeat` times, against `json.loads` of the
    same bytes."""
    from bench.adversarial import SHAPES, document, validate_document

    per_mb = {}
    documents = {}
    for name in SHAPES:
        shape, data = document(name)
        documents[name] = (shape, data)
        started = time.perf_counter()
        validate_document(shape, data)
        per_mb[name] = (time.perf_counter() - started) / (len(data) / 1e6)
    worst = max(per_mb, key=per_mb.get)
    shape, data = documents[worst]
    samples, cpu = _timed(lambda: validate_document(shape, data), repeat)
    baseline, _ = _timed(lambda: json.loads(data), repeat)
    megabytes = len(data) / 1e6
    value = statistics.median(samples) / 1000 / megabytes
    base = statistics.median(baseline) / 1000 / megabytes
    ranking = ", ".join(
        f"{name} {seconds:.3f}"
        for name, seconds in sorted(per_mb.items(), key=lambda item: -item[1])[:5]
    )
    return {
        "name": f"validate the worst adversarial shape per MB ({worst}, {megabytes:.2f} MB)",
        "value": round(value, 4),
        "unit": "s/MB",
        "baseline": round(base, 4),
        "baseline_name": "json.loads of the same bytes",
        "ratio": round(value / base, 1) if base else None,
        "target": f"<= {TARGET_WORST_S_PER_MB:g} s/MB",
        "pass": value <= TARGET_WORST_S_PER_MB,
        "note": (
            f"CPU time median {statistics.median(cpu) / 1000 / megabytes:.3f} s/MB; "
            f"slowest shapes (s/MB, one run): {ranking}"
        ),
    }


def run() -> list[dict]:
    reference = REFERENCE.read_bytes()
    generated = json.dumps(generated_pack(), separators=(",", ":")).encode()
    return [
        _row(
            f"validate {REFERENCE.name} ({len(reference) / 1024:.0f} KiB)",
            reference,
            200,
            TARGET_REFERENCE_MS,
        ),
        _row(
            f"validate generated pack ({len(generated) / 1e6:.2f} MB: 2,000 tools, "
            "2,000 exception types, 4,000 rules, 200 playbooks)",
            generated,
            30,
            TARGET_GENERATED_MS,
        ),
        worst_shape_row(),
    ]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
    os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-chain-key-not-for-production")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main() -> None:
    _setup()
    rows = run()
    columns = ["name", "median_ms", "p95_ms", "baseline_median_ms", "ratio", "target", "pass"]
    rows = [{**row, **{c: row.get(c, "") for c in columns}} for row in rows]
    widths = {c: max(len(c), *(len(str(row[c])) for row in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))
    for row in rows:
        print(f"{row['name']}: {row['note']}")
        if row.get("unit") == "s/MB":
            print(f"  {row['value']} s/MB against {row['baseline']} s/MB for json.loads")


if __name__ == "__main__":
    main()
