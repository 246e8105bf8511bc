"""GET /metrics against two real gunicorn workers sharing one PROMETHEUS_MULTIPROC_DIR: counters
are summed over both, and every metric of docs/operability.md appears after the action that
moves it (requests, runtime cache, activations, rollbacks, change requests, impact, propagation
lag, listener reconnects, convergence, webhook queue)."""

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from bench.common import ROOT, Client, Gunicorn, free_port, wait_for_http
from onboarding import gunicorn_config, metrics
from onboarding.metrics import register_scrape_collector
from tenants.models import PlatformSettings
from tests.api.conftest import assert_problem
from tests.conftest import make_actor
from tests.db_state import db_state
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    child_database_env,
    make_finance_tenant,
    store_domain,
    store_tenant,
)
from tests.waiting import holds
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db(transaction=True)
CONFIG = f"/runtime/tenants/{FINANCE}/config"
CONFIG_ROUTE = "runtime/tenants/<str:tenant_id>/config"


@pytest.fixture
def finance_active(finance_domain, finance_tenant):
    from governance.services import config_activate

    tenant = make_finance_tenant()
    store_domain(finance_domain, "v3.2")
    store_domain(finance_domain, "v3.3")
    store_tenant(finance_tenant)
    config_activate(
        principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.2", tenant_pack_version="v1.4"
    )
    return tenant


@pytest.fixture
def server(tmp_path, finance_active):
    env = child_database_env()
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
        RUNTIME_HEARTBEAT_INTERVAL="0.5",
        DEBUG="false",
    )
    args = ("-c", "python:onboarding.gunicorn_config")
    with Gunicorn(env, workers=2, extra_args=args) as running:
        running.metrics_dir = tmp_path / "prom"
        yield running


def samples(server, token: str) -> dict[tuple[str, frozenset], float]:
    response = Client(server.base, token).get("/metrics", headers={"Accept": "text/plain"})
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.body.decode())
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float | None:
    return found.get((name, frozenset(labels.items())))


def writer_pids(directory: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[1] for path in directory.glob("*.db")}


@pytest.mark.postgres
def test_metrics__two_gunicorn_workers__counters_summed_and_every_metric_moves(server, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    viewer = make_actor("metrics-viewer", "VIEWER")
    first, second = make_actor("ops-admin", "ADMIN"), make_actor("ops-admin-2", "ADMIN")
    webhook_create(
        principal=SETUP,
        url="http://127.0.0.1:9/in",
        events=["config.activated", "config.rolled_back"],
    )

    # Runtime reads on fresh connections until both workers have served some (and so loaded the
    # tenant: the propagation lag is measured on their reload later).
    sent = 0
    deadline = time.monotonic() + 30
    while len(writer_pids(server.metrics_dir)) < 2 or sent < 10:
        assert time.monotonic() < deadline, "the second worker never answered"
        assert Client(server.base, viewer.token).get(CONFIG).status == 200
        sent += 1
    found = samples(server, viewer.token)
    assert value(
        found, "onboarding_http_requests_total", route=CONFIG_ROUTE, method="GET", status="200"
    ) == float(sent)
    assert value(
        found, "onboarding_http_request_duration_seconds_count", route=CONFIG_ROUTE, method="GET"
    ) == float(sent)
    assert value(found, "onboarding_runtime_cache_lookups_total", result="miss") >= 2
    assert value(found, "onboarding_runtime_cache_lookups_total", result="hit") >= 1

    # A change request (approval on), its impact preview and approval; then a direct rollback.
    PlatformSettings.objects.update_or_create(
        pk=1, defaults={"require_activation_approval": True, "updated_by": "test"}
    )
    body = {"tenant_id": FINANCE, "domain_pack_version": "v3.3"}
    preview = Client(server.base, first.token).post(
        "/admin/packs/activate", {**body, "dry_run": True}
    )
    assert preview.status == 200, preview.body
    requested = Client(server.base, first.token).post("/admin/packs/activate", body)
    assert requested.status == 202, requested.body
    approved = Client(server.base, second.token).post(
        f"/admin/config-changes/{requested.json()['change_request']['id']}/approve", {}
    )
    assert approved.status == 200, approved.body
    PlatformSettings.objects.filter(pk=1).update(require_activation_approval=False)
    rolled_back = Client(server.base, first.token).post(f"/admin/tenants/{FINANCE}/rollback", {})
    assert rolled_back.status == 200, rolled_back.body
    # The pushes reach the serving processes first (a listener killed with a message still
    # unread would lose that reload, and with it the lag it measures).
    assert holds(
        lambda: (
            (value(samples(server, viewer.token), "onboarding_propagation_lag_seconds_count") or 0)
            >= 1
        ),
        timeout=30,
        interval=0.2,
    ), "no serving process reloaded after the activation"
    # The listeners' connections dropped: each reconnects.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'runtime-config-listener' AND datname = current_database()"
        )

    expected = {
        ("onboarding_activations_total", frozenset({("kind", "activate")})): 1,
        ("onboarding_rollbacks_total", frozenset()): 1,
        ("onboarding_change_requests_total", frozenset({("outcome", "requested")})): 1,
        ("onboarding_change_requests_total", frozenset({("outcome", "approved")})): 1,
        ("onboarding_impact_run_seconds_count", frozenset({("result", "complete")})): 1,
        ("onboarding_propagation_lag_seconds_count", frozenset()): 1,
        ("onboarding_listener_reconnects_total", frozenset()): 1,
        ("onboarding_runtime_processes", frozenset()): 2,
        ("onboarding_webhook_queue_depth", frozenset()): 2,
        ("onboarding_webhook_deliveries", frozenset({("status", "PENDING")})): 2,
        ("onboarding_webhook_oldest_pending_age_seconds", frozenset()): 0.000001,
    }
    deadline = time.monotonic() + 20
    while True:
        found = samples(server, viewer.token)
        missing = {
            key: found.get(key) for key, least in expected.items() if (found.get(key) or 0) < least
        }
        if not missing:
            break
        assert time.monotonic() < deadline, missing
        time.sleep(0.1)
    # Exact sums of one action each, over both workers.
    assert value(found, "onboarding_activations_total", kind="activate") == 1
    assert value(found, "onboarding_rollbacks_total") == 1
    assert value(found, "onboarding_runtime_processes_not_converged") is not None
    assert value(
        found, "onboarding_http_requests_total", route="metrics", method="GET", status="200"
    )


def test_metrics__no_credentials__401_and_nothing_written(client):
    before = db_state()
    assert_problem(client.get("/metrics"), 401, "not_authenticated")
    assert db_state() == before


def test_metrics__tenant_role_only__403_platform_role_required(member):
    before = db_state()
    assert_problem(member.client.get("/metrics"), 403, "platform_role_required")
    assert db_state() == before


def test_metrics__admin_session__prometheus_text_with_request_counters(admin, client):
    client.force_login(admin.user)
    client.get(CONFIG)
    client.generic("BREW", "/no/such/path/4f1c")  # any method, any path: bounded label values
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    families = {family.name for family in text_string_to_metric_families(text)}
    assert {
        "onboarding_http_requests",
        "onboarding_webhook_queue_depth",
        "onboarding_rollouts",
        "onboarding_runtime_processes_not_converged",
    } <= families
    assert f'route="{CONFIG_ROUTE}"' in text
    assert 'method="other",route="(unmatched)"' in text
    assert "4f1c" not in text and "BREW" not in text


def test_serve_metrics__separate_bind__gunicorn_workers_counters_without_auth(tmp_path, db):
    env = child_database_env()
    if env is None:
        pytest.skip("the test database is in memory; set TEST_DB_NAME to share it")
    env.update(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"), DEBUG="false")
    args = ("-c", "python:onboarding.gunicorn_config")
    with Gunicorn(env, workers=2, extra_args=args) as server:
        for _ in range(3):
            assert Client(server.base).get("/healthz").status == 200
        bind = f"127.0.0.1:{free_port()}"
        side = subprocess.Popen(
            [sys.executable, "manage.py", "serve_metrics", "--bind", bind],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_http(f"http://{bind}/metrics", timeout=30, proc=side)
            scraped = Client(f"http://{bind}").get("/metrics")
            missing = Client(f"http://{bind}").get("/admin/tenants")
        finally:
            side.terminate()
            side.wait(timeout=10)
    assert scraped.status == 200 and missing.status == 404
    found = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(scraped.body.decode())
        for sample in family.samples
    }
    assert (
        value(found, "onboarding_http_requests_total", route="healthz", method="GET", status="200")
        >= 3
    )
    assert value(found, "onboarding_webhook_queue_depth") == 0


def test_scrape__one_collector_fails__logged_and_the_rest_still_served(admin, caplog):
    def broken():
        raise RuntimeError("database away")

    register_scrape_collector("tests.broken", broken)
    try:
        response = admin.client.get("/metrics")
    finally:
        metrics._scrape_collectors.pop("tests.broken")
    assert response.status_code == 200
    assert b"onboarding_webhook_queue_depth" in response.content
    assert any("tests.broken" in record.getMessage() for record in caplog.records)


def test_gunicorn_hooks__start_and_worker_exit__stale_files_removed_dead_gauges_marked(
    tmp_path, monkeypatch
):
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"from an earlier run")
    (directory / "gauge_livesum_4243.db").write_bytes(b"x")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    gunicorn_config.on_starting(None)
    assert list(directory.iterdir()) == []
    (directory / "gauge_livesum_4243.db").write_bytes(b"x")
    gunicorn_config.child_exit(None, SimpleNamespace(pid=4243))
    assert not (directory / "gauge_livesum_4243.db").exists()
