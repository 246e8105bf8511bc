"""The convergence panel of the tenant page, in Chromium, against two live gunicorn workers on
PostgreSQL: both report the active revision, an activation moves both to the new one."""

import threading

import pytest
from django.test import Client as DjangoClient

from bench.common import Client, Gunicorn
from runtime_config.runtime import invalidate
from runtime_config.selectors import convergence_get
from tests.conftest import make_actor
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    child_database_env,
    make_finance_tenant,
    store_domain,
    store_tenant,
)
from tests.ui.conftest import shot
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
URL = f"/runtime/tenants/{FINANCE}/config"


@pytest.fixture(autouse=True)
def fresh():
    invalidate()
    yield
    invalidate()


def _load_both_workers(server, token: str, timeout: float = 20.0) -> None:
    """Concurrent requests until both workers have reported serving the tenant."""
    stop = threading.Event()

    def hammer():
        client = Client(server.base, token)
        while not stop.is_set():
            client.get(URL)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: len(convergence_get(principal=SETUP, tenant_id=FINANCE)["processes"]) == 2,
            timeout=timeout,
            interval=0.2,
            message="both gunicorn workers reporting",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _panel_rows(page) -> list[str]:
    return page.locator("#convergence-panel tr[data-process]").all_inner_texts()


def _wait_panel(page, predicate, timeout: float = 15.0) -> None:
    wait_until(
        lambda: predicate(page.locator("#convergence").inner_text(), _panel_rows(page)),
        timeout=timeout,
        interval=0.2,
        message="the convergence panel matching",
    )


def test_convergence_panel__two_gunicorn_workers__converge_after_activation(
    chromium,
    finance_domain,
    finance_tenant,
    admin,
):
    from governance.services import config_activate

    tenant = make_finance_tenant()
    store_domain(finance_domain, "v3.2")
    store_domain(finance_domain, "v3.3")
    store_tenant(finance_tenant)
    config_activate(
        principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.2", tenant_pack_version="v1.4"
    )
    reader = make_actor("runtime-reader", "VIEWER", tenant)
    session = DjangoClient()
    session.force_login(admin.user)
    env = child_database_env()
    env.update(RUNTIME_HEARTBEAT_INTERVAL="0.5", DEBUG="false")
    with Gunicorn(env, workers=2) as server:
        _load_both_workers(server, reader.token)
        context = chromium.new_context(
            base_url=server.base, viewport={"width": 1400, "height": 900}
        )
        context.add_cookies(
            [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": server.base}]
        )
        page = context.new_page()
        page.goto(f"/admin/tenants/{FINANCE}")
        _wait_panel(
            page,
            lambda text, rows: (
                "CONVERGED" in text and len(rows) == 2 and all("r1" in row for row in rows)
            ),
        )
        config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.3")
        # Both workers reload on the push and report revision 2 with their next heartbeat.
        _wait_panel(
            page,
            lambda text, rows: (
                "CONVERGED" in text
                and "revision 2" in text
                and len(rows) == 2
                and all("r2" in row and "ACTIVE" in row for row in rows)
            ),
        )
        pids = {row.split("\t")[2] for row in _panel_rows(page)}
        assert len(pids) == 2
        page.locator("#convergence").scroll_into_view_if_needed()
        shot(page, "tenant-convergence")
        context.close()
