"""`verify_audit` at scale (a part of bench/audit_scale.py): `--full` against the walk it had
before issue 26 on the same rows, and the walk of 10,000 new rows on top of a checkpoint."""

import statistics
import time
from datetime import timedelta
from io import StringIO

NEW_ROWS = 10_000  # verify_audit of this many rows on top of the checkpoint
TARGET_NEW_ROWS_S = 2.0
OLD_WALK_SAMPLE = 30_000


def _old_walk_rate(limit: int) -> float:
    """Rows/s of the walk `verify_audit` had before issue 26 over `limit` rows, as it was: a
    model instance per row, `row_content`, an HMAC state copied per row. The `--full` baseline."""
    import hashlib
    import hmac

    from audit.models import AuditEvent
    from audit.services import row_content, signing_keys, streaming_read
    from packs.canonical import canonical_json

    states = {
        key_id: hmac.new(key.encode(), digestmod=hashlib.sha256)
        for key_id, key in signing_keys().items()
    }

    def old_hash(row) -> str:
        mac = states[row.key_id].copy()
        mac.update(row.prev_hash.encode("ascii"))
        mac.update(canonical_json({**row_content(row), "key_id": row.key_id}))
        return mac.hexdigest()

    began = time.perf_counter()
    with streaming_read():
        rows = AuditEvent.objects.order_by("id")[:limit].iterator(chunk_size=2000)
        count = sum(1 for row in rows if old_hash(row) == row.hash)
    assert count == limit, f"the old walk disagreed on {limit - count} rows"
    return count / (time.perf_counter() - began)


def _new_walk_rate(limit: int) -> float:
    """Rows/s of today's walk over the same first `limit` rows."""
    from audit.services import ChainHasher
    from audit.verification import Walk, _rows

    walk = Walk(ChainHasher())
    began = time.perf_counter()
    # The walk's own query for exactly these rows, as the old walk's is (a walk cut short would
    # count the chunks read ahead and thrown away).
    for row in _rows(after=0, limit=limit):
        walk.step(row)
    assert walk.count == limit
    return limit / (time.perf_counter() - began)


def _verify_s(*args: str) -> tuple[float, str]:
    from django.core.management import call_command

    out = StringIO()
    began = time.perf_counter()
    call_command("verify_audit", *args, stdout=out)
    return time.perf_counter() - began, out.getvalue()


def verify_rows(size: int, span: timedelta, grow, log=print) -> list[dict]:
    """The verify rows of the report; `grow(to_rows, span, total)` appends chain rows."""
    from audit.models import AuditCheckpoint

    AuditCheckpoint.objects.all().delete()
    full_s, out = _verify_s("--full")  # walks everything and records the first checkpoint
    log(f"audit_scale: verify --full {full_s:.1f} s: {out.strip()}")
    full_rate = size / full_s
    sample = min(OLD_WALK_SAMPLE, size)
    old_rates, new_rates = [], []
    for _ in range(3):  # alternated, so that a busy moment of the machine hits both
        old_rates.append(_old_walk_rate(sample))
        new_rates.append(_new_walk_rate(sample))
    old_rate, new_rate = statistics.median(old_rates), statistics.median(new_rates)
    # The ratio first: span times 10,010,000 is past what a timedelta holds.
    grow(size + NEW_ROWS, span * ((size + NEW_ROWS) / size), size + NEW_ROWS)
    samples = []
    for _ in range(5):
        seconds, out = _verify_s("--no-checkpoint")
        samples.append(seconds)
    assert f"{NEW_ROWS} events verified" in out, out
    incremental = statistics.median(samples)
    return [
        {
            "name": f"verify_audit --full, {size:,} rows ({full_rate:,.0f} rows/s)",
            "median_ms": full_s * 1000,
            "baseline_name": f"walk before issue 26 over the first {sample:,} rows",
            "baseline_median_ms": sample / old_rate * 1000,
            "ratio": new_rate / old_rate,
            "target": "≥ 2x the previous per-row rate",
            "pass": new_rate >= 2 * old_rate,
            "note": f"same {sample:,} rows, median of 3 alternated: {new_rate:,.0f} rows/s "
            f"against {old_rate:,.0f} rows/s",
        },
        {
            "name": f"verify_audit of {NEW_ROWS:,} new rows on top of {size:,} (checkpoint)",
            "median_ms": incremental * 1000,
            "baseline_name": "",
            "baseline_median_ms": None,
            "ratio": None,
            "target": f"≤ {TARGET_NEW_ROWS_S:.0f} s",
            "pass": incremental <= TARGET_NEW_ROWS_S,
            "note": f"median of {len(samples)}",
        },
    ]
