"""An activation, a rollback and a suspension committed here are seen by another process (a second
Django process on the same database and shared cache) within 2 s, and by this process at once.

The second process needs the test database in a file (SQLite: set TEST_DB_NAME) or on
PostgreSQL; with an in-memory SQLite test database these tests are skipped."""

import pytest

from governance import services
from runtime_config.evaluator import evaluate
from runtime_config.runtime import invalidate
from runtime_config.watch import Watcher
from tenants.services import tenant_set_status
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    activate_direct,
    child_database_env,
    make_finance_tenant,
    store_domain,
    store_tenant,
)

pytestmark = pytest.mark.django_db(transaction=True)
DEADLINE = 2.0


@pytest.fixture(autouse=True)
def cached_runtime(settings):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 1
    invalidate()
    yield
    invalidate()


@pytest.fixture
def child_env():
    env = child_database_env()
    if env is None:
        pytest.skip("the test database is in memory; set TEST_DB_NAME to share it")
    return env


def test_activation_and_rollback__other_process__seen_within_2s(
    child_env, finance_domain, finance_tenant
):
    make_finance_tenant()
    old = store_domain(finance_domain, "v3.2")
    finance_domain["severityRules"][2]["severity"] = "CRITICAL"  # SETTLEMENT_FAIL
    new = store_domain(finance_domain, "v3.3")
    tenant_pack = store_tenant(finance_tenant)
    activate_direct(FINANCE, old, tenant_pack)
    with Watcher(FINANCE, child_env) as child:
        assert child.wait_for("v3.2/v1.4/1", 10)["seen"] == "v3.2/v1.4/1"
        activate_direct(FINANCE, new, tenant_pack)
        # This process: the very next evaluation.
        decision = evaluate(tenant_id=FINANCE, exception_type="SETTLEMENT_FAIL", payload={})
        assert decision["severity"] == "CRITICAL"
        assert child.wait_for("v3.3/v1.4/2", DEADLINE)["seen"] == "v3.3/v1.4/2"
        activate_direct(FINANCE, old, tenant_pack)  # rolled back to the earlier pair
        decision = evaluate(tenant_id=FINANCE, exception_type="SETTLEMENT_FAIL", payload={})
        assert decision["severity"] == "HIGH"
        assert child.wait_for("v3.2/v1.4/3", DEADLINE)["seen"] == "v3.2/v1.4/3"


def test_suspension__other_process__refuses_within_2s(child_env, finance_domain, finance_tenant):
    make_finance_tenant()
    activate_direct(FINANCE, store_domain(finance_domain), store_tenant(finance_tenant))
    with Watcher(FINANCE, child_env) as child:
        assert child.wait_for("v3.2/v1.4/1", 10)["seen"] == "v3.2/v1.4/1"
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
        assert child.wait_for("tenant_suspended", DEADLINE)["seen"] == "tenant_suspended"


def test_activation_services__other_process__seen_within_2s(
    child_env, finance_domain, finance_tenant
):
    make_finance_tenant()
    store_domain(finance_domain, "v3.2")
    store_domain(finance_domain, "v3.3")
    store_tenant(finance_tenant)
    services.config_activate(
        principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.2", tenant_pack_version="v1.4"
    )
    with Watcher(FINANCE, child_env) as child:
        assert child.wait_for("v3.2/v1.4/1", 10)["seen"] == "v3.2/v1.4/1"
        services.config_activate(principal=SETUP, tenant_id=FINANCE, domain_pack_version="v3.3")
        assert child.wait_for("v3.3/v1.4/2", DEADLINE)["seen"] == "v3.3/v1.4/2"
        services.config_rollback(principal=SETUP, tenant_id=FINANCE)
        assert child.wait_for("v3.2/v1.4/3", DEADLINE)["seen"] == "v3.2/v1.4/3"
