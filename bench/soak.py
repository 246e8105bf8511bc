"""`make soak`: concurrency and faults on PostgreSQL, loopback only, bounded in time and count.

gunicorn (2 workers) serves a fresh database. Client threads import tenant packs, activate them
(some tenants need four-eyes approval), approve, roll back and evaluate, while a fault injector
terminates the server's database connections (`pg_terminate_backend`) and kills gunicorn workers.
Afterwards the database is checked:

- no HTTP 500 outside an injected fault window (those inside are reported),
- every successful response is reflected in the database,
- every active config points at existing packs and equals the last history row,
- every tenant's history revisions are 1..n without gaps,
- `verify_audit` and `verify_packs` pass (when the commands exist),
- exactly one audit row per applied change (imports, activations, requests, approvals).

    python -m bench.soak [--seconds 120] [--tenants 4] [--ops 150] [--keep]
"""

import argparse
import copy
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    Client,
    Gunicorn,
    drop_database,
    issue_token,
    manage,
    pg_url,
    recreate_database,
    reference_pack,
    service_env,
)

DB_NAME = "soak_onboarding"
FAULT_GRACE_S = 2.0  # a request overlapping a fault window (plus this) may fail


@dataclass
class Call:
    op: str
    tenant: str
    started: float
    ended: float
    status: int | None  # None: transport error (connection reset by a killed worker)
    body: object = None
    request: dict = field(default_factory=dict)
    path: str = ""


@dataclass
class Soak:
    base: str
    admin: str
    approver: str
    deadline: float
    ops_per_thread: int
    calls: list[Call] = field(default_factory=list)
    windows: list[tuple[float, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


def call(soak: Soak, client: Client, op: str, tenant: str, method: str, path: str, body=None):
    started = time.monotonic()
    try:
        response = client.request(method, path, body=body)
        status, payload = response.status, response.json()
    except OSError as exc:
        status, payload = None, repr(exc)
    soak.record(Call(op, tenant, started, time.monotonic(), status, payload, body or {}, path))
    return status, payload


def tenant_pack(tenant: str, ttl: int) -> dict:
    pack = copy.deepcopy(reference_pack("tenant_finance_001.json"))
    pack["tenantId"] = tenant
    pack["retentionPolicies"] = {"dataTTL": ttl}
    return pack


def approve(soak: Soak, approver: Client, tenant: str, body: dict) -> None:
    request_id = (body.get("change_request") or {}).get("id")
    if request_id:
        path = f"/admin/config-changes/{request_id}/approve"
        call(soak, approver, "approve", tenant, "POST", path, {"comment": "soak"})


def client_loop(soak: Soak, tenant: str, seed: int) -> None:
    rng = random.Random(seed)
    admin, approver = Client(soak.base, soak.admin), Client(soak.base, soak.approver)
    versions: list[str] = []
    for _ in range(soak.ops_per_thread):
        if soak.stop.is_set() or time.monotonic() > soak.deadline:
            break
        op = rng.choices(["import", "activate", "rollback", "evaluate", "config"], [3, 4, 1, 3, 1])[
            0
        ]
        if op == "import":
            status, body = call(
                soak,
                admin,
                "import",
                tenant,
                "POST",
                "/admin/packs/tenant/import",
                {"tenant_id": tenant, "content": tenant_pack(tenant, rng.randrange(1, 10**6))},
            )
            if status in (200, 201) and isinstance(body, dict) and body.get("version"):
                versions.append(body["version"])
        elif op == "activate" and versions:
            status, body = call(
                soak,
                admin,
                "activate",
                tenant,
                "POST",
                "/admin/packs/activate",
                {"tenant_id": tenant, "tenant_pack_version": rng.choice(versions)},
            )
            if status == 202 and isinstance(body, dict):
                approve(soak, approver, tenant, body)
        elif op == "rollback":
            status, body = call(
                soak, admin, "rollback", tenant, "POST", f"/admin/tenants/{tenant}/rollback", {}
            )
            if status == 202 and isinstance(body, dict):
                approve(soak, approver, tenant, body)
        elif op == "evaluate":
            call(
                soak,
                admin,
                "evaluate",
                tenant,
                "POST",
                "/ops/exceptions/evaluate",
                {
                    "tenant_id": tenant,
                    "exception_type": rng.choice(["SETTLEMENT_FAIL", "POSITION_BREAK"]),
                    "payload": {"orderId": "1", "impact": "ECONOMIC"},
                },
            )
        else:
            call(soak, admin, "config", tenant, "GET", f"/runtime/tenants/{tenant}/config")
        time.sleep(rng.uniform(0.0, 0.05))
    admin.close()
    approver.close()


def fault_loop(soak: Soak, server: Gunicorn, seed: int) -> None:
    import psycopg

    rng = random.Random(seed)
    kinds = ["terminate_db", "kill_worker", "terminate_db", "term_worker", "terminate_db", "hup"]
    index = 0
    while not soak.stop.wait(rng.uniform(1.0, 3.0)):
        if time.monotonic() > soak.deadline:
            break
        kind = kinds[index % len(kinds)]
        index += 1
        started = time.monotonic()
        if kind == "terminate_db":
            with psycopg.connect(pg_url(DB_NAME), autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (DB_NAME,),
                )
            length = 1.0
        elif kind in ("kill_worker", "term_worker"):
            pids = server.worker_pids()
            if not pids:
                continue
            # SIGTERM lets a sync worker finish its request; SIGKILL cuts it mid-transaction.
            # Either way the master starts a replacement.
            sig = signal.SIGKILL if kind == "kill_worker" else signal.SIGTERM
            os.kill(rng.choice(pids), sig)
            length = 3.0
        else:
            server.proc.send_signal(signal.SIGHUP)  # graceful reload of every worker
            length = 5.0
        with soak.lock:
            soak.windows.append((started, time.monotonic() + length, kind))


# ---------------------------------------------------------------- checks


def in_fault_window(soak: Soak, c: Call) -> bool:
    return any(
        c.started <= end + FAULT_GRACE_S and c.ended >= start for start, end, _ in soak.windows
    )


def server_exceptions(log_path: Path) -> dict[str, int]:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    found = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception)): ", text, flags=re.MULTILINE)
    return dict(Counter(found).most_common(5))


def check(soak: Soak, env: dict, log_path: Path) -> tuple[list[str], list[str]]:
    """Returns (violations, remarks)."""
    import psycopg

    violations, remarks = [], []
    expected = Counter()
    for c in soak.calls:
        if c.status is not None and c.status >= 500:
            if in_fault_window(soak, c):
                expected[c.op] += 1
            else:
                violations.append(
                    f"{c.status} on {c.op} {c.tenant} outside any fault window: {str(c.body)[:200]}"
                )
    if expected:
        remarks.append(
            f"{sum(expected.values())} HTTP 5xx inside fault windows (by operation: "
            f"{dict(expected)}); server log exceptions: {server_exceptions(log_path)}"
        )

    with psycopg.connect(pg_url(DB_NAME)) as conn:

        def one(sql, *params):
            return conn.execute(sql, params).fetchone()

        for c in soak.calls:
            if c.status not in (200, 201, 202) or not isinstance(c.body, dict):
                continue
            body = c.body
            if c.op == "import":
                row = one(
                    "SELECT checksum FROM tenant_packs WHERE tenant_id = %s AND version = %s",
                    c.tenant,
                    body.get("version"),
                )
                if row is None or (body.get("checksum") and row[0] != body["checksum"]):
                    violations.append(
                        f"import {c.tenant} {body.get('version')} answered "
                        f"{c.status} but the stored pack is {row}"
                    )
            if c.op == "approve" and c.status == 200:
                request_id = c.path.split("/")[-2]
                row = one("SELECT status FROM config_change_requests WHERE id = %s", request_id)
                if row is None or row[0] != "APPLIED":
                    violations.append(f"approve of {request_id} answered 200 but it is {row}")
            if c.op in ("activate", "rollback", "approve") and c.status == 200:
                revision = body.get("revision")
                if revision is None:
                    continue
                row = one(
                    "SELECT tp.version FROM activation_history h "
                    "LEFT JOIN tenant_packs tp ON tp.id = h.to_tenant_pack_id "
                    "WHERE h.tenant_id = %s AND h.revision = %s",
                    c.tenant,
                    revision,
                )
                expected = body.get("active_tenant_pack_version")
                if body.get("changed", True) and (row is None or row[0] != expected):
                    violations.append(
                        f"{c.op} {c.tenant} answered revision {revision} "
                        f"({expected}) but history holds {row}"
                    )
            elif c.op in ("activate", "rollback") and c.status == 202:
                request_id = (body.get("change_request") or {}).get("id")
                if one("SELECT 1 FROM config_change_requests WHERE id = %s", request_id) is None:
                    violations.append(f"change request {request_id} answered 202 but not stored")

        writes = [
            c
            for c in soak.calls
            if c.op in ("import", "activate", "rollback", "approve") and c.status in (200, 201, 202)
        ]
        remarks.append(f"{len(writes)} successful write responses checked against the database")

        for tenant, revision, dp, tp, dp_ok, tp_ok in conn.execute(
            "SELECT c.tenant_id, c.revision, c.domain_pack_id, c.tenant_pack_id, d.id, t.id "
            "FROM tenant_active_config c "
            "LEFT JOIN domain_packs d ON d.id = c.domain_pack_id "
            "LEFT JOIN tenant_packs t ON t.id = c.tenant_pack_id"
        ).fetchall():
            if (dp and not dp_ok) or (tp and not tp_ok):
                violations.append(f"active config of {tenant} points at a missing pack")
            last = one(
                "SELECT revision, to_domain_pack_id, to_tenant_pack_id FROM activation_history "
                "WHERE tenant_id = %s ORDER BY revision DESC LIMIT 1",
                tenant,
            )
            if last != (revision, dp, tp):
                violations.append(
                    f"active config of {tenant} r{revision} ({dp}, {tp}) "
                    f"differs from its last history row {last}"
                )
        for tenant, revisions in conn.execute(
            "SELECT tenant_id, array_agg(revision ORDER BY revision) FROM activation_history "
            "GROUP BY tenant_id"
        ).fetchall():
            if revisions != list(range(1, len(revisions) + 1)):
                violations.append(f"history of {tenant} is not contiguous: {revisions}")

        audit = dict(
            conn.execute("SELECT action, count(*) FROM audit_events GROUP BY action").fetchall()
        )
        facts = {
            "pack.imported": one(
                "SELECT (SELECT count(*) FROM tenant_packs) + (SELECT count(*) FROM domain_packs)"
            )[0],
            "config.activated": one("SELECT count(*) FROM activation_history")[0],
            "config.activation_requested": one("SELECT count(*) FROM config_change_requests")[0],
            "change_request.approved": one(
                "SELECT count(*) FROM config_change_requests WHERE status = 'APPLIED'"
            )[0],
            "change_request.stale": one(
                "SELECT count(*) FROM config_change_requests WHERE status = 'STALE'"
            )[0],
            "tenant.created": one("SELECT count(*) FROM tenants")[0],
        }
        for action, expected in facts.items():
            if audit.get(action, 0) != expected:
                violations.append(
                    f"audit has {audit.get(action, 0)} {action} rows for {expected} changes"
                )
        remarks.append(f"audit rows by action: {dict(sorted(audit.items()))}")

    for command in ("verify_audit", "verify_packs"):
        done = manage(env, command, check=False)
        if "Unknown command" in done.stderr:
            remarks.append(f"{command}: not present, skipped")
        elif done.returncode != 0:
            violations.append(
                f"{command} exited {done.returncode}: {done.stdout[-300:]}{done.stderr[-300:]}"
            )
        else:
            remarks.append(f"{command}: ok")
    return violations, remarks


# ---------------------------------------------------------------- setup and main


def setup(base: str, admin: str, approver: str, tenants: list[str]) -> None:
    """The starting state, before any fault: a domain pack, tenants, one active pack each."""
    client, second = Client(base, admin), Client(base, approver)
    domain = reference_pack("domain_capital_markets.json")
    response = client.post("/admin/packs/domain/import", {"content": domain, "version": "1.0.0"})
    if response.status not in (200, 201):
        raise RuntimeError(f"domain import: {response.status} {response.body[:500]!r}")
    for index, tenant in enumerate(tenants):
        needs_approval = index % 2 == 1
        response = client.post(
            "/admin/tenants",
            {"tenant_id": tenant, "name": tenant, "require_activation_approval": needs_approval},
        )
        if response.status != 201:
            raise RuntimeError(f"tenant {tenant}: {response.status} {response.body[:500]!r}")
        response = client.post(
            "/admin/packs/tenant/import",
            {"tenant_id": tenant, "content": tenant_pack(tenant, 90)},
        )
        if response.status not in (200, 201):
            raise RuntimeError(f"pack {tenant}: {response.status} {response.body[:500]!r}")
        version = response.json()["version"]
        response = client.post(
            "/admin/packs/activate",
            {
                "tenant_id": tenant,
                "domain": domain["domainName"],
                "domain_pack_version": "1.0.0",
                "tenant_pack_version": version,
            },
        )
        if response.status == 202:
            request_id = response.json()["change_request"]["id"]
            response = second.post(f"/admin/config-changes/{request_id}/approve", {})
        if response.status != 200:
            raise RuntimeError(f"activate {tenant}: {response.status} {response.body[:500]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--ops", type=int, default=150, help="operations per client thread")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1, 2**31)
    workdir = Path(tempfile.mkdtemp(prefix="soak_"))
    env = service_env(recreate_database(DB_NAME), CONN_MAX_AGE=60, LOG_LEVEL="WARNING")
    manage(env, "migrate", "--noinput")
    admin = issue_token(env, "soak-admin", "ADMIN")
    approver = issue_token(env, "soak-approver", "ADMIN")
    tenants = [f"SOAK_T{i}" for i in range(1, args.tenants + 1)]
    print(f"soak: {len(tenants)} tenants, {args.seconds:.0f} s, seed {seed}, logs in {workdir}")

    with Gunicorn(env, workers=2, log_path=workdir / "server.log") as server:
        setup(server.base, admin, approver, tenants)
        soak = Soak(server.base, admin, approver, time.monotonic() + args.seconds, args.ops)
        threads = [
            threading.Thread(target=client_loop, args=(soak, tenant, seed + i * 2 + k))
            for i, tenant in enumerate(tenants)
            for k in range(2)  # two clients per tenant: they race for the same revision
        ]
        injector = threading.Thread(target=fault_loop, args=(soak, server, seed))
        for thread in [*threads, injector]:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 120)
        soak.stop.set()
        injector.join(timeout=30)

    violations, remarks = check(soak, env, workdir / "server.log")
    counts = Counter((c.op, c.status) for c in soak.calls)
    print("\n== soak summary")
    print(
        f"  requests: {len(soak.calls)}; faults injected: "
        f"{dict(Counter(kind for _, _, kind in soak.windows))}"
    )
    for (op, status), n in sorted(counts.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        print(f"  {op:9s} {status if status is not None else 'transport error'}: {n}")
    for remark in remarks:
        print(f"  note: {remark}")
    for violation in violations:
        print(f"  VIOLATION: {violation}")
    print(
        f"  reproduce: python -m bench.soak --seconds {args.seconds:.0f} "
        f"--tenants {args.tenants} --seed {seed}; server log {workdir / 'server.log'}"
    )
    if not args.keep:
        drop_database(DB_NAME)
    print("soak: FAILED" if violations else "soak: passed")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
