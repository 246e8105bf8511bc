"""Audit trail at scale (issue 26), PostgreSQL only: list pages by cursor, filters, counts,
incremental and full `verify_audit`, index bytes per row, at growing sizes of one valid chain.

The chain is realistic rather than uniform: 1,000 tenants with Zipf-skewed traffic (the hottest
about 13 % of the rows, a tenth of the rows platform-wide without a tenant), 22 actions also
skewed (the commonest about 14 %), half a year of time (two years at 10 M) with bursts of rows
sharing one timestamp. Rows are generated with the service's own hasher, so `verify_audit`
holds, and loaded with COPY. After each growth step: VACUUM ANALYZE (autovacuum's job in
production, docs/deployment.md).

Every request goes through Django's full stack (test Client, token auth, middleware,
serialization), median of REPEATS. Baselines measured in the same run: the OFFSET page at the
same depth as the cursor page, and the previous `verify_audit` walk (a model instance per row)
over a sample of the same rows.

    python -m bench.audit_scale                      # 100k and 1M rows on a fresh database
    python -m bench.audit_scale --rows 20000,100000  # other sizes
    python -m bench.audit_scale --ten-million        # adds a 10M step (an hour or more)

Inside `make bench` (part `audit_scale`): BENCH_AUDIT_SCALE_ROWS (default 100000,1000000),
BENCH_AUDIT_10M=1 for the 10 M step."""

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from bench.audit_scale_verify import verify_rows
from bench.common import recreate_database, setup_django

REPEATS = 7
PAGE = 50
DEEP_PAGES = 2000  # depth of the "deep page": 100,000 rows down
TENANTS = 1000
TARGET_MS = 50.0
TARGET_GROWTH = 1.5
START = datetime(2025, 1, 1, tzinfo=UTC)
ACTIONS = [
    "pack.imported", "config.activated", "pack.status_changed", "tenant.status_changed",
    "config.activation_requested", "change_request.approved", "playbook.linked",
    "tenant.policy_changed", "change_request.rejected", "pack.import_rejected",
    "tenant.created", "playbook.unlinked", "change_request.cancelled", "change_request.stale",
    "change_request.scheduled", "change_request.applied", "tenant.samples_replaced",
    "webhook.created", "webhook.updated", "webhook.paused", "webhook.resumed",
    "change_request.review_refused",
]  # fmt: skip
OBJECT_TYPES = {
    "pack": "tenant_pack", "config": "tenant_active_config", "tenant": "tenant",
    "change_request": "config_change_request", "playbook": "playbook_link", "webhook": "webhook",
}  # fmt: skip


def _zipf_weights(count: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, count + 1)))


TENANT_WEIGHTS = _zipf_weights(TENANTS, 1.0)
ACTION_WEIGHTS = _zipf_weights(len(ACTIONS), 0.8)
HOT_TENANT = "T0001"
COMMON_ACTION = ACTIONS[0]


def tenant_of(rank: int) -> str:
    return f"T{rank:04d}"


def _rows(start_index: int, count: int, head: str, span: timedelta, total: int):
    """COPY tuples extending the chain from `head`; row i at START + i/total of `span`."""
    from audit.services import HASHED_FIELDS, ChainHasher, current_key_id, iso_utc
    from packs.canonical import canonical_json

    hasher = ChainHasher()
    key_id = current_key_id()
    rng = random.Random(start_index)
    step = span / total
    moment = START + step * start_index
    for index in range(start_index, start_index + count):
        if rng.random() > 0.05:  # 5 %: a burst, one timestamp shared with the previous row
            moment = START + step * index
        action = rng.choices(ACTIONS, cum_weights=ACTION_WEIGHTS)[0]
        tenant = None
        if rng.random() > 0.1:
            tenant = tenant_of(rng.choices(range(1, TENANTS + 1), cum_weights=TENANT_WEIGHTS)[0])
        version = f"v{rng.randint(1, 9)}.{rng.randint(0, 9)}"
        details = {
            "before": {"status": "DRAFT"},
            "after": {"status": "ACTIVE", "version": version, "size_bytes": rng.randint(800, 9000)},
        }
        content = {
            "occurred_at": moment,
            "actor": f"user{rng.randint(1, 40)}@example.com",
            "action": action,
            "tenant_id": tenant,
            "object_type": OBJECT_TYPES[action.split(".")[0]],
            "object_id": str(rng.randint(1, 50_000)),
            "domain": f"Domain{rng.randint(1, 30):02d}",
            "version": version,
            "checksum": f"{rng.getrandbits(256):064x}",
            "summary": f"{action} by bench for {tenant or 'the platform'} ({version})",
            "details": details,
            "request_id": f"{rng.getrandbits(128):032x}",
            "prev_hash": head,
        }
        row = [content[name] for name in HASHED_FIELDS]
        content["occurred_at"] = iso_utc(moment)
        head = hasher.hash_content(content, key_id)
        row[HASHED_FIELDS.index("details")] = canonical_json(details).decode()
        yield (*row, head, key_id)


def grow(to_rows: int, span: timedelta, total: int, log=print) -> float:
    """Append rows until the trail holds `to_rows`; VACUUM ANALYZE. Returns seconds spent."""
    from django.db import connection, transaction

    from audit.models import GENESIS_HASH, AuditEvent
    from audit.services import HASHED_FIELDS, _lock_chain_head

    began = time.perf_counter()
    have = AuditEvent.objects.count()
    columns = [*HASHED_FIELDS, "hash", "key_id"]
    while have < to_rows:
        batch = min(200_000, to_rows - have)
        with transaction.atomic():
            _lock_chain_head()
            head = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
            with connection.cursor() as cursor:
                sql = f"COPY audit_events ({', '.join(columns)}) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:
                    for row in _rows(have, batch, head or GENESIS_HASH, span, total):
                        copy.write_row(row)
        have += batch
        log(f"audit_scale: {have:,} rows")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_events")
    return time.perf_counter() - began


def _median_ms(call, repeats: int = REPEATS) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), result


def _client():
    from django.test import Client

    from bench.scale import bench_user_token

    token = bench_user_token()
    return Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT="application/json")


def _get(client, path: str, params: dict):
    response = client.get(path, params)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _deep_cursor(depth: int) -> str:
    """The cursor of the page `depth` rows down (found with OFFSET once, not timed)."""
    from audit.models import AuditEvent
    from audit.paging import NEXT, Cursor

    row = AuditEvent.objects.order_by("-occurred_at", "-id")[depth - 1 : depth].get()
    return Cursor.at(NEXT, row)


def _plan_index(params: dict) -> str:
    """The index the planner reads for the list's query with `params` (EXPLAIN, not timed)."""
    import json

    from django.db import connection

    from audit.selectors import audit_event_list
    from tenants.principals import Principal

    events = audit_event_list(principal=Principal.system("bench"), **params)[:PAGE]
    sql, sql_params = events.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", sql_params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = []

    def walk(node):
        if "Index Name" in node:
            found.append(f"{node['Node Type']} {node['Index Name']}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return ", ".join(found) or plan[0]["Plan"]["Node Type"]


def _csv_export_ms(random_page_cost: str) -> tuple[float, int, str]:
    """The hot tenant's CSV export (every row, streamed) under a `random_page_cost`."""
    from django.db import connection

    from audit.api import csv_rows
    from audit.selectors import audit_event_list
    from tenants.principals import Principal

    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('random_page_cost', %s, false)", [random_page_cost])
    try:
        events = audit_event_list(principal=Principal.system("bench"), tenant_id=HOT_TENANT)
        median, size = _median_ms(lambda: sum(len(piece) for piece in csv_rows(events)), 3)
        with connection.cursor() as cursor:
            sql, params = events.values_list("id", "details").query.sql_with_params()
            cursor.execute("BEGIN")
            cursor.execute(f"EXPLAIN DECLARE c CURSOR FOR {sql}", params)
            plan = " ".join(line for (line,) in cursor.fetchall() if "Scan" in line)
            cursor.execute("ROLLBACK")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET random_page_cost")
    return median, size, plan.strip().split("  (")[0]


def _csv_rows(size: int) -> list[dict]:
    default_ms, _, default_plan = _csv_export_ms("4")
    tuned_ms, _, tuned_plan = _csv_export_ms("1.1")
    return [
        {
            "name": f"CSV export of hot tenant {HOT_TENANT}, {size:,} rows, random_page_cost 1.1",
            "median_ms": tuned_ms,
            "baseline_name": f"random_page_cost 4 (default): {default_plan}",
            "baseline_median_ms": default_ms,
            "ratio": tuned_ms / default_ms,
            "target": "the tenant index (docs/deployment.md)",
            "pass": "audit_tenant_time_id_idx" in tuned_plan,
            "note": f"plan at 1.1: {tuned_plan}",
        }
    ]


def _index_bytes() -> tuple[int, int, dict[str, int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_indexes_size('audit_events'), pg_table_size('audit_events'), "
            "(SELECT reltuples::bigint FROM pg_class WHERE relname = 'audit_events')"
        )
        indexes, table, rows = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
            "WHERE relname = 'audit_events' ORDER BY 2 DESC"
        )
        each = dict(cursor.fetchall())
    return indexes // max(rows, 1), table // max(rows, 1), each


def measure(size: int, log=print) -> dict[str, dict]:
    """Timings at the current size (the trail holds `size` rows)."""
    client = _client()
    results: dict[str, dict] = {}
    depth = min(DEEP_PAGES * PAGE, size - PAGE)
    cursor = _deep_cursor(depth)
    requests = {
        "first page, unfiltered": {},
        f"page at depth {depth:,} by cursor": {"cursor": cursor},
        f"hot tenant {HOT_TENANT} (first page)": {"tenant_id": HOT_TENANT},
        f"common action {COMMON_ACTION} (first page)": {"action": COMMON_ACTION},
        "hot tenant, deep page by cursor": None,
        "rare tenant, one-day window": {
            "tenant_id": tenant_of(TENANTS),
            "since": (START + timedelta(days=30)).isoformat(),
            "until": (START + timedelta(days=31)).isoformat(),
        },
    }
    for label, params in requests.items():
        if params is None:  # follow up to 20 `next` links of the hot tenant, then time that page
            params = {"tenant_id": HOT_TENANT}
            body = _get(client, "/admin/audit", params)
            for _ in range(19):
                if not body["next"]:
                    break
                params["cursor"] = parse_qs(urlsplit(body["next"]).query)["cursor"][0]
                body = client.get(body["next"]).json()
        median, body = _median_ms(lambda p=params: _get(client, "/admin/audit", p))
        plan = {key: value for key, value in params.items() if key != "cursor"}
        queries_ms, _ = _median_ms(lambda p=params: _queries(p))
        results[label] = {
            "ms": median,
            "queries_ms": queries_ms,
            "rows": len(body["results"]),
            "count": body["count"],
            "estimate": body["count_is_estimate"],
            "plan": _plan_index(_plan_params(plan)),
        }
        log(f"audit_scale {size:,}: {label} {median:.1f} ms")
    from audit.models import AuditEvent
    from audit.paging import audit_page

    everything = AuditEvent.objects.all()

    def previous_list():  # what the list ran before: an exact COUNT(*) and an OFFSET page
        everything.count()
        return list(everything.order_by("-occurred_at", "-id")[depth : depth + PAGE])

    offset_ms, _ = _median_ms(previous_list)
    keyset_ms, _ = _median_ms(lambda: audit_page(everything, cursor=cursor, size=PAGE))
    results["offset baseline"] = {"ms": offset_ms, "depth": depth, "keyset_ms": keyset_ms}
    return results


def _queries(params: dict):
    """The list's database work alone (filters, capped count or estimate, keyset page)."""
    from audit.paging import audit_page
    from audit.selectors import audit_event_list
    from tenants.principals import Principal

    filters = _plan_params({key: value for key, value in params.items() if key != "cursor"})
    events = audit_event_list(principal=Principal.system("bench"), **filters)
    return audit_page(events, cursor=params.get("cursor"), size=PAGE)


def _plan_params(params: dict) -> dict:
    from audit.selectors import parse_audit_filters

    return parse_audit_filters(params)


def run(sizes: list[int] | None = None, log=print) -> list[dict]:
    from django.db import connection

    if connection.vendor != "postgresql":
        return [{"name": "audit at scale", "pass": False, "note": "needs PostgreSQL"}]
    if sizes is None:
        raw = os.environ.get("BENCH_AUDIT_SCALE_ROWS", "100000,1000000")
        sizes = [int(part) for part in raw.split(",") if part]
        if os.environ.get("BENCH_AUDIT_10M") == "1":
            sizes.append(10_000_000)
    total = max(sizes)
    span = timedelta(days=730 if total >= 10_000_000 else 182)
    by_size: dict[int, dict] = {}
    rows: list[dict] = []
    for size in sizes:
        seconds = grow(size, span, total, log=log)
        log(f"audit_scale: {size:,} rows ready in {seconds:.0f} s")
        by_size[size] = measure(size, log=log)
        index_row, table_row, each = _index_bytes()
        by_size[size]["bytes"] = (index_row, table_row, each)
    rows += _request_rows(sizes, by_size)
    rows += _csv_rows(max(sizes))
    rows += verify_rows(max(sizes), span, grow, log=log)
    index_row, table_row, each = by_size[max(sizes)]["bytes"]
    rows.append(
        {
            "name": f"audit index bytes per row at {max(sizes):,} rows",
            "median_ms": None,
            "baseline_name": f"table bytes per row ({table_row})",
            "ratio": index_row / table_row if table_row else None,
            "target": "only indexes a query uses",
            "pass": True,
            "note": f"{index_row} B/row in indexes: "
            + ", ".join(f"{name} {size / 2**20:.0f} MiB" for name, size in each.items()),
        }
    )
    return rows


def _request_rows(sizes: list[int], by_size: dict[int, dict]) -> list[dict]:
    rows = []
    small, large = min(sizes), max(sizes)
    for label in [name for name in by_size[large] if name not in ("offset baseline", "bytes")]:
        big = by_size[large][label]
        label_small = label if label in by_size[small] else None
        growth = big["ms"] / by_size[small][label_small]["ms"] if label_small else None
        offset = by_size[large]["offset baseline"]
        deep = "by cursor" in label
        within = big["ms"] <= TARGET_MS and (growth is None or growth <= TARGET_GROWTH)
        rows.append(
            {
                "name": f"GET /admin/audit {label}, {large:,} rows",
                "median_ms": big["ms"],
                "baseline_name": (
                    f"previous queries: COUNT(*) + OFFSET {offset['depth']:,} "
                    f"(keyset page + count: {offset['keyset_ms']:.1f} ms)"
                    if deep
                    else f"same request at {small:,} rows"
                ),
                "baseline_median_ms": offset["ms"] if deep else by_size[small][label]["ms"],
                "ratio": offset["keyset_ms"] / offset["ms"] if deep else growth,
                "target": f"≤ {TARGET_MS:.0f} ms, growth ≤ {TARGET_GROWTH}x at {large // small}x",
                "pass": within,
                "note": f"database work {big['queries_ms']:.1f} ms; "
                f"count {big['count']:,}{' (estimate)' if big['estimate'] else ''}; "
                f"plan: {big['plan']}" + (f"; growth {growth:.2f}x" if growth is not None else ""),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="100000,1000000", help="sizes, comma-separated")
    parser.add_argument("--ten-million", action="store_true", help="add a 10,000,000-row step")
    parser.add_argument("--db", default=os.environ.get("BENCH_AUDIT_DB", "bench_audit_scale"))
    parser.add_argument("--json", action="store_true", help="one JSON row per line (make bench)")
    args = parser.parse_args()
    sizes = [int(part) for part in args.rows.split(",") if part]
    if args.ten_million:
        sizes.append(10_000_000)
    url = recreate_database(args.db)
    setup_django(url, "bench.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for row in run(sizes, log=lambda message: print(message, file=sys.stderr, flush=True)):
        if args.json:
            print(json.dumps(row, default=str), flush=True)
            continue
        median = row.get("median_ms")
        timing = f"{median:10.1f} ms" if median is not None else " " * 13
        ratio = f"ratio {row['ratio']:.2f}" if row.get("ratio") is not None else ""
        verdict = "ok" if row["pass"] else "MISSED"
        print(f"{timing}  {row['name']}  {ratio}  [{row.get('target', '')}: {verdict}]")
        print(f"{'':15}{row.get('baseline_name', '')}; {row.get('note', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
