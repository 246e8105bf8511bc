"""One table on stdout and docs/performance.md. Rows are dicts; the known keys are `group`,
`name`, `value`, `unit`, `baseline`, `baseline_name`, `ratio`, `target`, `pass`, `note`
(any other keys of rows from other benchmarks are shown in the note)."""

import contextlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench.common import ROOT

KNOWN = {"group", "name", "value", "unit", "baseline", "baseline_name", "ratio", "target", "pass"}
KNOWN |= {"note", "detail", "scans", "plans", "p50", "p95", "p99", "queries", "index", "errors"}


def machine(database_url: str | None = None) -> dict:
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(
            line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
        )
        meminfo = Path("/proc/meminfo").read_text().split()
        info["memory"] = f"{int(meminfo[meminfo.index('MemTotal:') + 1]) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    try:
        import django

        info["django"] = django.get_version()
    except ImportError:
        pass
    if database_url:
        try:
            import psycopg

            with psycopg.connect(database_url) as conn:
                info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:
            info["postgresql"] = f"unavailable ({exc.__class__.__name__})"
    with contextlib.suppress(OSError):
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    return info


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:,.0f}"
        if abs(value) < 1000 and abs(value) >= 10:
            text = f"{value:.1f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def normalise(row: dict) -> dict:
    """Fill the known keys for rows of any shape; the ratio is value / baseline."""
    out = dict(row)
    out.setdefault("group", "other")
    out.setdefault("name", row.get("benchmark") or row.get("label") or "?")
    for key, unit in (("median_ms", "ms"), ("median_us", "µs"), ("median_s", "s")):
        if out.get("value") is None and row.get(key) is not None:
            out["value"], out["unit"] = row[key], out.get("unit") or unit
            out.setdefault("baseline", row.get(f"baseline_{key}"))
    value, baseline = out.get("value"), out.get("baseline")
    if out.get("ratio") is None and isinstance(value, int | float) and baseline:
        try:
            out["ratio"] = value / baseline
        except (TypeError, ZeroDivisionError):
            out["ratio"] = None
    extra = {k: v for k, v in row.items() if k not in KNOWN}
    note = out.get("note") or ""
    if extra:
        compact = json.dumps(extra, default=str, ensure_ascii=False)
        note = f"{note} {compact[:400]}".strip()
    out["note"] = note
    return out


def _verdict(row: dict) -> str:
    if row.get("pass") is None:
        return "info"
    return "PASS" if row["pass"] else "FAIL"


def table_lines(rows: list[dict]) -> list[str]:
    header = ["group", "figure", "value", "baseline", "ratio", "target", "result"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in map(normalise, rows):
        unit = row.get("unit", "")
        lines.append(
            "| "
            + " | ".join(
                [
                    str(row["group"]),
                    str(row["name"]).replace("|", "\\|"),
                    _fmt(row.get("value"), unit),
                    _fmt(row.get("baseline"), unit),
                    _fmt(row.get("ratio"), "x") if row.get("ratio") is not None else "—",
                    str(row.get("target", "—")).replace("|", "\\|"),
                    _verdict(row),
                ]
            )
            + " |"
        )
    return lines


def print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="make bench", show_lines=False)
    for column in ("group", "figure", "value", "baseline", "ratio", "target", "result"):
        table.add_column(column, overflow="fold")
    for row in map(normalise, rows):
        unit = row.get("unit", "")
        table.add_row(
            str(row["group"]),
            str(row["name"]),
            _fmt(row.get("value"), unit),
            _fmt(row.get("baseline"), unit),
            _fmt(row.get("ratio"), "x") if row.get("ratio") is not None else "—",
            str(row.get("target", "—")),
            _verdict(row),
        )
    Console(width=200).print(table)


RUNTIME_DESIGN = """\
## How the runtime figures come about

- **Baseline of the HTTP figures**: `../shared/bench/baseline_wsgi.py`, a single-file Django + DRF
  app (one middleware, no authentication, no database) answering `GET /trivial`, served by the
  same gunicorn settings (2 sync workers) beside the service, loaded in the same run,
  alternating with the measured endpoint round by round.
- **The config endpoint's lean route** (`runtime_config.fastpath`): a token-authenticated GET
  skips the session, CSRF, messages, htmx, two-door and DRF layers and runs only
  `RUNTIME_MIDDLEWARE` (request id, `SecurityMiddleware`, `X-Frame-Options`, CSP). The principal
  of a token and the configuration are both cached in the process, so a hit costs no database
  query; `GET /healthz` (the full stack plus `SELECT 1`) is measured beside it for
  comparison (its row above).
- **Propagation**: from the commit of an activation (noted by an on-commit callback registered
  before the activation's own) to the first `get_effective_config` in a second process that
  returns the new revision; PostgreSQL `NOTIFY` and Redis pub/sub with the poll still at 1 s,
  and the SQLite poll alone. The listener thread of the receiving process drops and reloads the
  tenant; serving processes call `gc.freeze()` when they start it, so that a full collection
  does not walk the objects every process holds from start-up.
- **Revocation**: from the commit of a token's deletion until two other gunicorn processes
  (one worker each, both having answered with that token, poll interval 30 s) answer 401.
- **Revocation and deactivation through the services** (part `revocation`): `token_revoke` and
  `user_deactivate` against one other gunicorn process that has provably cached the token
  (it still answered 200 after the token was marked revoked without a push message); from the
  commit (its first on-commit callback) to the first refusal, one round trip included.
- **A rollout's wave elsewhere** (part `rollouts`): from the commit of a wave to the first
  `get_effective_config` in two other processes answering the new revision, one watching the
  wave's first tenant and one its last.
- **The runtime beside the console** (part `review`): the runtime loop's p99 while VIEWER
  processes reload a review page, once with one gunicorn for both, once with the runtime on a
  gunicorn of its own and the console's at `nice 10` (docs/deployment.md).
"""


def write_markdown(rows: list[dict], info: dict, path: Path, *, notes: list[str]) -> None:
    rows = [normalise(r) for r in rows]
    out = [
        "# Performance",
        "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand. Every figure is",
        "measured in the same run as its baseline, on the machine below.",
        "",
        "## Machine",
        "",
    ]
    out += [f"- {key}: {value}" for key, value in info.items()]
    out += ["", "## Results", "", *table_lines(rows), ""]
    passed = sum(1 for r in rows if r.get("pass") is True)
    failed = [r["name"] for r in rows if r.get("pass") is False]
    verb = "does" if len(failed) == 1 else "do"
    out += [f"{passed} figures meet their target, {len(failed)} {verb} not."]
    if failed:
        out += ["", "Not meeting the target:", ""] + [f"- {name}" for name in failed]
    out += ["", *RUNTIME_DESIGN.splitlines(), "", "## Notes per figure", ""]
    for row in rows:
        bits = [row.get("note") or ""]
        if row.get("baseline_name"):
            bits.append(f"baseline: {row['baseline_name']}")
        for key in ("p50", "p95", "p99", "queries", "index", "errors"):
            if key in row:
                bits.append(f"{key}: {_fmt(row[key])}")
        out.append(f"- **{row['name']}** — " + "; ".join(b for b in bits if b))
    plans = [r for r in rows if r.get("scans")]
    if plans:
        out += ["", "## Index use (EXPLAIN at 10x)", ""]
        for row in plans:
            out.append(f"- {row['name']}: " + "; ".join(f"`{scan}`" for scan in row["scans"]))
    if notes:
        out += ["", "## Run notes", ""] + [f"- {note}" for note in notes]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
