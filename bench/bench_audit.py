"""Audit benchmark (issue 5): the streamed CSV export of the audit trail at two sizes — its time
next to a bare iteration of the same rows, and its peak Python memory, which must not grow with
the row count — and `verify_audit` over the whole chain.

Inside `make bench` Django is already set up on a fresh PostgreSQL database. Run alone with
`python -m bench.bench_audit`: on DATABASE_URL when set (it must be migrated), else on a
throwaway SQLite file that is migrated first. BENCH_AUDIT_ROWS sets the larger size (default
100,000; the smaller is a tenth of it, at least 5,000)."""

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("BENCH_AUDIT_ROWS", "100000"))
REPEATS = 3
BATCH = 2000
TARGET_ROWS_PER_S = 10_000  # 1,000,000 rows exported in under 100 s
TARGET_MEMORY_GROWTH = 1.5  # peak memory at 10x the rows stays within 1.5x


def _pct(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def seed(count: int, tenant_id: str) -> None:
    """Append `count` valid chain rows for `tenant_id` quickly (one INSERT per batch, under the
    chain lock), continuing from the current head."""
    from django.db import connection, transaction
    from django.utils import timezone

    from audit.models import GENESIS_HASH, AuditEvent
    from audit.services import _lock_chain_head, current_key_id, row_hash

    columns = [
        "occurred_at", "actor", "action", "tenant_id", "object_type", "object_id", "domain",
        "version", "checksum", "summary", "details", "request_id", "prev_hash", "hash", "key_id",
    ]  # fmt: skip
    sql = (
        f"INSERT INTO audit_events ({', '.join(columns)}) "  # noqa: S608 (constant names)
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    start = timezone.now()
    key_id = current_key_id()
    done = 0
    while done < count:
        with transaction.atomic():
            _lock_chain_head()
            prev = (
                AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
                or GENESIS_HASH
            )
            params = []
            for index in range(done, min(count, done + BATCH)):
                row = AuditEvent(
                    occurred_at=start + timedelta(microseconds=index),
                    actor="bench",
                    action="tenant.status_changed",
                    tenant_id=tenant_id,
                    object_type="tenant",
                    object_id=tenant_id,
                    summary=f"Tenant {tenant_id} ACTIVE → SUSPENDED: bench row {index}",
                    details={"before": {"status": "ACTIVE"}, "after": {"status": "SUSPENDED"}},
                    request_id=f"bench-{index}",
                    prev_hash=prev,
                    key_id=key_id,
                )
                row.hash = row_hash(row)
                prev = row.hash
                params.append(
                    [
                        row.occurred_at, row.actor, row.action, row.tenant_id, row.object_type,
                        row.object_id, row.domain, row.version, row.checksum, row.summary,
                        AuditEvent._meta.get_field("details").get_db_prep_value(
                            row.details, connection
                        ),
                        row.request_id, row.prev_hash, row.hash, row.key_id,
                    ]
                )  # fmt: skip
            with connection.cursor() as cursor:
                cursor.executemany(sql, params)
            done += len(params)


def _export(tenant_id: str) -> int:
    from audit.api import csv_rows
    from audit.selectors import audit_event_list
    from tenants.principals import Principal

    events = audit_event_list(principal=Principal.system("bench"), tenant_id=tenant_id)
    return sum(len(piece) for piece in csv_rows(events))


def _bare(tenant_id: str) -> int:
    from audit.api import COLUMNS, FETCH_CHUNK_ROWS
    from audit.selectors import audit_event_list
    from audit.services import streaming_read
    from tenants.principals import Principal

    events = audit_event_list(principal=Principal.system("bench"), tenant_id=tenant_id)
    with streaming_read():
        rows = events.values_list(*COLUMNS).iterator(chunk_size=FETCH_CHUNK_ROWS)
        return sum(1 for _ in rows)


def _times_ms(func, *args) -> list[float]:
    samples = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        func(*args)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def _peak_mib(func, *args) -> float:
    tracemalloc.start()
    try:
        func(*args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run() -> list[dict]:
    from io import StringIO

    from django.core.management import call_command

    # Both sizes span several fetch chunks, else the smaller peak is not the steady state.
    small = max(ROWS // 10, 5000)
    large = max(ROWS, 10 * small)
    seed(small, "BENCH_AUDIT_SMALL")
    seed(large, "BENCH_AUDIT_LARGE")
    rows = []
    peaks = {}
    for count, tenant in ((small, "BENCH_AUDIT_SMALL"), (large, "BENCH_AUDIT_LARGE")):
        export = _times_ms(_export, tenant)
        bare = _times_ms(_bare, tenant)
        peaks[count] = _peak_mib(_export, tenant)
        ratio = statistics.median(export) / statistics.median(bare)
        rate = count / (statistics.median(export) / 1000)
        rows.append(
            {
                "name": f"audit CSV export, {count:,} rows (peak {peaks[count]:.1f} MiB)",
                "median_ms": statistics.median(export),
                "p95_ms": _pct(export, 0.95),
                "baseline_name": f"fetching the same {count:,} rows (values_list iterator)",
                "baseline_median_ms": statistics.median(bare),
                "ratio": ratio,
                "target": f"≥ {TARGET_ROWS_PER_S:,} rows/s",
                "pass": rate >= TARGET_ROWS_PER_S,
                "note": f"{rate:,.0f} rows/s",
            }
        )
    growth = peaks[large] / peaks[small] if peaks[small] else float("inf")
    rows.append(
        {
            "name": f"audit CSV export peak memory, {large:,} vs {small:,} rows",
            "median_ms": None,
            "p95_ms": None,
            "baseline_name": f"peak at {small:,} rows ({peaks[small]:.1f} MiB)",
            "baseline_median_ms": None,
            "ratio": growth,
            "target": f"constant memory: growth ≤ {TARGET_MEMORY_GROWTH}x at 10x the rows",
            "pass": growth <= TARGET_MEMORY_GROWTH,
            "note": f"peak {peaks[large]:.1f} MiB at {large:,} rows (tracemalloc)",
        }
    )
    from audit.models import AuditEvent

    total = AuditEvent.objects.count()
    verify = _times_ms(lambda: call_command("verify_audit", stdout=StringIO()))
    rows.append(
        {
            "name": f"verify_audit over {total:,} rows",
            "median_ms": statistics.median(verify),
            "p95_ms": _pct(verify, 0.95),
            "baseline_name": "",
            "baseline_median_ms": None,
            "ratio": None,
            "target": "exit 0 (chain intact)",
            "pass": True,
        }
    )
    return rows


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
    os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-chain-key-not-for-production")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / "bench_audit.sqlite3")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if not os.environ.get("DATABASE_URL"):
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def main() -> None:
    _setup()
    for row in run():
        median = row["median_ms"]
        timing = f"{median:9.1f} ms" if median is not None else " " * 12
        ratio = f"ratio {row['ratio']:.2f}" if row["ratio"] is not None else ""
        ratio += f" {row.get('note', '')}"
        verdict = "ok" if row["pass"] else "MISSED"
        print(f"{timing}  {row['name']}  {ratio}  [{row['target']}: {verdict}]")


if __name__ == "__main__":
    main()
