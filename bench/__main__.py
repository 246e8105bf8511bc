"""`make bench`: a fresh PostgreSQL database, every benchmark, one table, docs/performance.md.

Environment: BENCH_DB (database name, default bench_onboarding), BENCH_PG_URL (server URL),
BENCH_SKIP (comma-separated parts to skip: scale, import, http, validation, runtime,
audit, audit_scale, webhooks, impact, review, rollouts, canary, metrics, console, identity,
revocation)."""

import importlib
import json
import os
import subprocess
import sys
import time
import traceback

from bench.common import ROOT, recreate_database, setup_django


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _other(module_name: str, notes: list[str]) -> list[dict]:
    """The validation and runtime engineers' benchmarks: `run() -> list[dict]`."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            notes.append(f"{module_name} not present: skipped")
            return []
        raise
    rows = module.run()
    group = module_name.rsplit("_", 1)[-1]
    return [dict({"group": group}, **row) for row in rows]


def _audit_scale(name: str) -> list[dict]:
    """`bench.audit_scale` on a database of its own: on this one the scale part's 1.1 M audit rows
    would stand in for every size it measures."""
    command = [sys.executable, "-m", "bench.audit_scale", "--json", "--db", f"{name}_audit"]
    command += ["--rows", os.environ.get("BENCH_AUDIT_SCALE_ROWS", "100000,1000000")]
    if os.environ.get("BENCH_AUDIT_10M") == "1":
        command.append("--ten-million")
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.audit_scale exited {done.returncode}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return [dict(json.loads(line), group="audit") for line in lines]


def main() -> int:
    started = time.monotonic()
    skip = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
    name = os.environ.get("BENCH_DB", "bench_onboarding")
    url = recreate_database(name)
    log(f"database {name} recreated")
    setup_django(url, "bench.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    log("migrated")

    from bench import http, imports, report, scale

    rows: list[dict] = []
    notes: list[str] = []

    def part(label: str, func) -> None:
        if label in skip:
            notes.append(f"{label}: skipped (BENCH_SKIP)")
            return
        part_started = time.monotonic()
        try:
            rows.extend(func())
        except Exception as exc:
            traceback.print_exc()
            notes.append(f"{label}: failed with {exc.__class__.__name__}: {exc}")
            rows.append(
                {
                    "group": label,
                    "name": f"{label} benchmark",
                    "pass": False,
                    "note": f"raised {exc.__class__.__name__}: {exc}",
                }
            )
        log(f"{label} done in {time.monotonic() - part_started:.0f} s")

    def run_scale():
        result, info = scale.run(url, log=log)
        notes.append(f"scale data: 1x {info['1x']}; added for 10x: {info['10x']}")
        return result

    part("scale", run_scale)
    part("import", lambda: imports.run([scale.tenant_id(i) for i in range(1, 301)], log=log))
    part("http", lambda: http.run(url, scale.bench_user_token(), log=log))
    part("validation", lambda: _other("bench.bench_validation", notes))
    part("runtime", lambda: _other("bench.bench_runtime", notes))
    part("audit", lambda: _other("bench.bench_audit", notes))
    # The audit trail at 100k and 1M rows (BENCH_AUDIT_SCALE_ROWS; BENCH_AUDIT_10M=1 adds 10M).
    part("audit_scale", lambda: _audit_scale(name))
    part("webhooks", lambda: _other("bench.bench_webhooks", notes))
    part("impact", lambda: _other("bench.bench_impact", notes))
    part("review", lambda: _other("bench.bench_review", notes))
    part("rollouts", lambda: _other("bench.bench_rollouts", notes))
    part("canary", lambda: _other("bench.bench_canary", notes))
    part("metrics", lambda: _other("bench.bench_metrics", notes))
    part("console", lambda: _other("bench.bench_console", notes))
    part("identity", lambda: _other("bench.bench_identity", notes))
    # Revocation and deactivation lag to another serving process (BENCH_REVOCATION_TRIALS).
    part("revocation", lambda: _other("bench.bench_revocation", notes))

    notes.append(f"total run time {time.monotonic() - started:.0f} s")
    report.print_table(rows)
    target = ROOT / "docs" / "performance.md"
    report.write_markdown(rows, report.machine(url), target, notes=notes)
    log(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
