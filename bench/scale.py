"""Scale: list pages and `get_latest_version` at 1x and 10x data (issue 10, item 1).

Data is written with PostgreSQL COPY, not through the services: the services are measured by
the import benchmark; here only the size of the tables matters. 1x is a subset of 10x: the
benchmark measures at 1x, adds the other 9x, ANALYZEs and measures again, so the two columns
differ only in data size.

One "hot" entity per table holds a tenth of its rows (a domain with many versions, a tenant with
many packs and audit events), so that deep pages exist at both scales. The deep page is always
page 10 of 50 rows (offset 450), so 1x and 10x read the same page of a bigger table.
"""

import hashlib
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from bench.common import percentile

UNIT = {"tenants": 1_000, "domain_packs": 10_000, "tenant_packs": 10_000, "audit_events": 100_000}
DOMAINS = 100
HOT_DOMAIN = "BenchDomain000"
HOT_TENANT = "BT000000"
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
DEEP_PAGE = 10
PAGE_SIZE = 50
ITERATIONS = 25
WARMUP = 3
TARGET_MEDIAN_MS = 50.0
# The audit `since` filter: events after this moment (a tenth of the 1x time span in).
SINCE = BASE_TIME + timedelta(seconds=UNIT["audit_events"] // 10)


def tenant_id(index: int) -> str:
    return f"BT{index:06d}"


def domain_name(index: int) -> str:
    return f"BenchDomain{index:03d}"


def version_string(index: int) -> str:
    return f"1.{index // 1000}.{index % 1000}"


# ---------------------------------------------------------------- generation (COPY)


def _copy(conn, table: str, columns: list[str], rows) -> int:
    count = 0
    with conn.cursor() as cur:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def _pack_content(domain: str, version: str, tenant: str | None) -> dict:
    if tenant:
        return {
            "tenantId": tenant,
            "domainName": domain,
            "version": version,
            "approvedTools": ["getOrder"],
            "customSeverityOverrides": [],
        }
    return {
        "domainName": domain,
        "version": version,
        "exceptionTypes": {"BENCH_BREAK": {"description": "Generated.", "detectionRules": []}},
        "severityRules": [{"condition": "exceptionType == 'BENCH_BREAK'", "severity": "HIGH"}],
        "tools": {"getOrder": {"description": "Fetch.", "parameters": {}}},
        "playbooks": [],
    }


def _pack_row(domain: str, version: str, tenant: str | None, index: int) -> tuple:
    from packs.canonical import canonical_json
    from packs.versions import version_key

    content = _pack_content(domain, version, tenant)
    body = canonical_json(content)
    status = "DEPRECATED" if index % 7 == 3 else ("ACTIVE" if index % 7 == 5 else "DRAFT")
    created = BASE_TIME + timedelta(seconds=index)
    row = (
        domain,
        version,
        version_key(version),
        body.decode(),
        hashlib.sha256(body).hexdigest(),
        len(body),
        status,
        created,
        "bench",
        "[]",
    )
    return (*row, tenant) if tenant else row


PACK_COLUMNS = [
    "domain",
    "version",
    "version_key",
    "content_json",
    "checksum",
    "size_bytes",
    "status",
    "created_at",
    "created_by",
    "validation_warnings",
]
TENANT_PACK_COLUMNS = [*PACK_COLUMNS, "tenant_id", "validated_against_version"]


def _domain_pack_rows(lo: int, hi: int):
    for j in range(lo, hi):
        if j % 10 == 0:
            domain, vindex = HOT_DOMAIN, j // 10
        else:
            rank = j - j // 10 - 1  # rank among the non-hot indices: unique, stable
            domain, vindex = domain_name(1 + rank % (DOMAINS - 1)), rank // (DOMAINS - 1)
        yield _pack_row(domain, version_string(vindex), None, j)


def _tenant_pack_rows(lo: int, hi: int, tenant_lo: int, tenant_hi: int):
    spread = tenant_hi - tenant_lo
    rank = 0
    for j in range(lo, hi):
        if j % 10 == 0:
            tenant, vindex = tenant_id(0), j // 10
        else:
            tenant, vindex = tenant_id(tenant_lo + rank % spread), rank // spread
            rank += 1
        yield _pack_row("BenchDomain001", version_string(vindex), tenant, j)


TENANT_COLUMNS = [
    "tenant_id",
    "name",
    "status",
    "created_at",
    "created_by",
    "updated_at",
    "suspended_by_platform",
]


def _tenant_rows(lo: int, hi: int):
    for i in range(lo, hi):
        created = BASE_TIME + timedelta(seconds=i)
        status = "SUSPENDED" if i % 10 == 9 else "ACTIVE"
        suspended = status == "SUSPENDED"
        yield (tenant_id(i), f"Bench tenant {i}", status, created, "bench", created, suspended)


AUDIT_ACTIONS = ["pack.imported", "config.activated", "pack.status_changed", "tenant.created"]


def _audit_rows(lo: int, hi: int, tenants: int, head: str):
    """Rows that extend the real hash chain from `head` (audit.services.row_hash), so that
    verify_audit still holds on the bench database."""
    from audit.services import current_key_id, row_hash

    key_id = current_key_id()
    leading = audit_columns()[:10]  # the plain columns before details, request_id and the hashes

    prev = head
    for i in range(lo, hi):
        tenant = tenant_id(0) if i % 10 == 0 else tenant_id(1 + i % (tenants - 1))
        fields = SimpleNamespace(
            occurred_at=BASE_TIME + timedelta(seconds=i),
            actor="bench",
            action=AUDIT_ACTIONS[i % len(AUDIT_ACTIONS)],
            tenant_id=tenant,
            object_type="tenant_pack",
            object_id=str(i),
            domain="BenchDomain001",
            version=version_string(i % 1000),
            checksum=hashlib.sha256(str(i).encode()).hexdigest(),
            summary=f"Generated event {i}",
            details={},
            request_id="",
            prev_hash=prev,
            key_id=key_id,
        )
        digest = row_hash(fields)
        yield (
            *(getattr(fields, name) for name in leading),
            "{}",
            "",
            prev,
            digest,
            key_id,
        )
        prev = digest


def audit_columns() -> list[str]:
    """The audit table without its id, in COPY order (read once Django is set up)."""
    from audit.services import HASHED_FIELDS

    return [*HASHED_FIELDS, "hash", "key_id"]


def audit_table_ready(conn) -> str | None:
    """None when audit_events has the columns of DESIGN §10, else why not."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_events'"
    ).fetchall()
    if not rows:
        return "audit_events table not migrated yet"
    missing = set(audit_columns()) - {name for (name,) in rows}
    return f"audit_events lacks columns {sorted(missing)}" if missing else None


def generate(database_url: str, scale_from: int, scale_to: int) -> dict[str, Any]:
    """Add rows so the tables hold `scale_to`x data (they hold `scale_from`x already)."""
    import psycopg

    counts: dict[str, Any] = {}
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        t_lo, t_hi = UNIT["tenants"] * scale_from, UNIT["tenants"] * scale_to
        counts["tenants"] = _copy(
            conn,
            "tenants",
            TENANT_COLUMNS,
            _tenant_rows(t_lo, t_hi),
        )
        counts["domain_packs"] = _copy(
            conn,
            "domain_packs",
            PACK_COLUMNS,
            _domain_pack_rows(UNIT["domain_packs"] * scale_from, UNIT["domain_packs"] * scale_to),
        )
        counts["tenant_packs"] = _copy(
            conn,
            "tenant_packs",
            TENANT_PACK_COLUMNS,
            (
                (*row, "")
                for row in _tenant_pack_rows(
                    UNIT["tenant_packs"] * scale_from,
                    UNIT["tenant_packs"] * scale_to,
                    max(1, t_lo),
                    t_hi,
                )
            ),
        )
        why_not = audit_table_ready(conn)
        if why_not:
            counts["audit_events"] = f"skipped: {why_not}"
        else:
            last = conn.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
            head = (last.fetchone() or ("0" * 64,))[0]
            counts["audit_events"] = _copy(
                conn,
                "audit_events",
                audit_columns(),
                _audit_rows(
                    UNIT["audit_events"] * scale_from, UNIT["audit_events"] * scale_to, t_hi, head
                ),
            )
        conn.commit()
        conn.autocommit = True
        # Steady state, not the worst case of a table just loaded: autovacuum would have set the
        # visibility map by now, which is what lets a COUNT read only the index.
        conn.execute("VACUUM ANALYZE")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


# ---------------------------------------------------------------- measurement


def bench_user_token() -> str:
    from django.contrib.auth import get_user_model

    from identity.services import token_mint
    from tenants.models import RoleBinding

    user, _ = get_user_model().objects.get_or_create(username="bench-admin")
    RoleBinding.objects.get_or_create(user=user, tenant=None, defaults={"role": "ADMIN"})
    return token_mint(user=user, name="bench", created_by="bench")[1]


def list_targets() -> list[tuple[str, str]]:
    since = SINCE.isoformat().replace("+00:00", "Z")
    return [
        ("GET /admin/packs/domain?domain=…", f"/admin/packs/domain?domain={HOT_DOMAIN}"),
        ("GET /admin/packs/tenant/{id}", f"/admin/packs/tenant/{HOT_TENANT}"),
        ("GET /admin/tenants?status=ACTIVE", "/admin/tenants?status=ACTIVE"),
        (
            "GET /admin/audit?tenant_id=…&since=…",
            f"/admin/audit?tenant_id={HOT_TENANT}&since={since}",
        ),
    ]


def _timed(call, iterations: int = ITERATIONS) -> tuple[list[float], Any]:
    result = None
    for _ in range(WARMUP):
        result = call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def _explain(queries: list[dict]) -> dict:
    """EXPLAIN every SELECT of one request that reads a bench table. The verdict is about the
    page queries (those with LIMIT): a COUNT over most of a small table is rightly a seq scan,
    so count plans are listed but do not decide."""
    from django.db import connection

    tables = ("domain_packs", "tenant_packs", "tenants", "audit_events")
    scans, page_scans = [], []
    with connection.cursor() as cur:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or not any(
                f'"{t}"' in sql for t in tables
            ):
                continue
            cur.execute("EXPLAIN " + sql)
            kind = "page" if " LIMIT " in sql.upper() else "other"
            for (line,) in cur.fetchall():
                if "Scan" in line and any(f" on {t}" in line for t in tables):
                    scan = line.strip().removeprefix("->").strip().split("  (")[0]
                    scans.append(f"{kind}: {scan}")
                    if kind == "page":
                        page_scans.append(scan)
    seq = [s for s in page_scans if "Seq Scan" in s]
    return {"index_used": bool(page_scans) and not seq, "scans": scans}


def _page_url(client, url: str, page: int) -> str:
    """Page `page` of `url`: by `page=` where the list pages by number; by following `next` where
    it pages by cursor (the audit trail, where `page=N` past 1 is 400 `invalid_page`)."""
    sep = "&" if "?" in url else "?"
    if page == 1 or not url.startswith("/admin/audit"):
        return f"{url}{sep}page={page}&page_size={PAGE_SIZE}"
    link = f"{url}{sep}page_size={PAGE_SIZE}"
    for _ in range(page - 1):
        parts = urlsplit(client.get(link, HTTP_ACCEPT="application/json").json()["next"])
        link = f"{parts.path}?{parts.query}"
    return link


def measure_lists(client, scale: int) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for label, url in list_targets():
        for page_label, page in (("first page", 1), (f"page {DEEP_PAGE}", DEEP_PAGE)):
            full = _page_url(client, url, page)

            def call(full=full):
                return client.get(full, HTTP_ACCEPT="application/json")

            samples, response = _timed(call)
            row = {
                "group": "scale",
                "name": f"{label} {page_label}",
                "scale": scale,
                "url": full,
                "status": response.status_code,
            }
            if response.status_code != 200:
                row.update(error=f"HTTP {response.status_code}", median_ms=None)
                rows.append(row)
                continue
            with CaptureQueriesContext(connection) as ctx:
                call()
            explain = _explain(ctx.captured_queries)
            body = response.json()
            row.update(
                median_ms=statistics.median(samples),
                p95_ms=percentile(samples, 0.95),
                queries=len(ctx.captured_queries),
                count=body.get("count") if isinstance(body, dict) else None,
                rows=len(body.get("results", [])) if isinstance(body, dict) else None,
                **explain,
            )
            rows.append(row)
    rows.append(_measure_latest_version(scale))
    return rows


def _measure_latest_version(scale: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from packs.selectors import domain_pack_latest_version
    from tenants.principals import Principal

    principal = Principal.system("bench")

    def call():
        return domain_pack_latest_version(principal=principal, domain=HOT_DOMAIN)

    samples, version = _timed(call, iterations=ITERATIONS * 4)
    with CaptureQueriesContext(connection) as ctx:
        call()
    return {
        "group": "scale",
        "name": "packs.selectors.domain_pack_latest_version",
        "scale": scale,
        "median_ms": statistics.median(samples),
        "p95_ms": percentile(samples, 0.95),
        "queries": len(ctx.captured_queries),
        "result": version,
        **_explain(ctx.captured_queries),
    }


def run(database_url: str, *, log=print) -> tuple[list[dict], dict]:
    """Measure at 1x, grow to 10x, measure again. Returns (rows, generation info)."""
    from django.test import Client

    info: dict[str, Any] = {}
    log("scale: generating 1x data (COPY)")
    info["1x"] = generate(database_url, 0, 1)
    log(f"scale: 1x rows {info['1x']}")
    client = Client(HTTP_AUTHORIZATION=f"Token {bench_user_token()}")
    rows = measure_lists(client, 1)
    log("scale: generating the other 9x (COPY)")
    info["10x"] = generate(database_url, 1, 10)
    log(f"scale: added rows {info['10x']}")
    rows += measure_lists(client, 10)
    return summarise(rows), info


def summarise(rows: list[dict]) -> list[dict]:
    """One result per measured figure at 10x, with its 1x figure as the baseline."""
    by_name = {(r["name"], r["scale"]): r for r in rows}
    out = []
    for (name, scale), row in by_name.items():
        if scale != 10:
            continue
        small = by_name.get((name, 1), {})
        result = {
            "group": "scale",
            "name": name,
            "unit": "ms",
            "value": row.get("median_ms"),
            "p95": row.get("p95_ms"),
            "baseline_name": "same at 1x",
            "baseline": small.get("median_ms"),
            "queries": f"{small.get('queries')} → {row.get('queries')}",
            "index": "yes" if row.get("index_used") else "NO",
            "scans": row.get("scans", []),
            "target": f"median ≤ {TARGET_MEDIAN_MS:.0f} ms, queries unchanged, index used",
            "detail": {"1x": small, "10x": row},
        }
        if row.get("median_ms") is None or small.get("median_ms") is None:
            result["pass"] = False
            result["note"] = row.get("error") or small.get("error") or "not measured"
        else:
            result["pass"] = (
                row["median_ms"] <= TARGET_MEDIAN_MS
                and small["median_ms"] <= TARGET_MEDIAN_MS
                and row.get("queries") == small.get("queries")
                and bool(row.get("index_used"))
            )
            result["note"] = f"1x: {small['median_ms']:.1f} ms; count {row.get('count')}"
        out.append(result)
    return out


def dump(rows: list[dict]) -> str:
    return json.dumps(rows, indent=1, default=str)
