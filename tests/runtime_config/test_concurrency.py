"""Activation under concurrent writers (PostgreSQL: select_for_update is a no-op on SQLite)."""

import itertools
import threading

import pytest
from django.db import connection

from governance.services import change_request_approve, config_activate
from runtime_config.models import ActivationHistory, ConfigChangeRequest, TenantActiveConfig
from tenants.principals import Principal
from tests.runtime_config.activation_helpers import SETUP, domain_pack, tenant_pack

THREADS = 20


def run_in_threads(count: int, work) -> tuple[list, list]:
    """Run work(index) in `count` threads started together; each thread has its own connection."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results.append(work(index))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_activate__20_concurrent_requests__revisions_1_to_20_none_lost(
    tenant_a, finance_domain, finance_tenant
):
    domain_pack(finance_domain, version="v3.2")
    domain_pack(finance_domain, version="v3.3")
    for index in range(THREADS):
        tenant_pack(finance_tenant, version=f"v1.{index}")

    def work(index: int):
        # Alternate domain versions; a distinct tenant version per thread means every request
        # differs from whatever is active when it gets the lock, so each one must apply.
        return config_activate(
            principal=Principal.system(f"worker-{index}"),
            tenant_id="TENANT_A",
            domain="CapitalMarketsTrading",
            domain_pack_version=("v3.2", "v3.3")[index % 2],
            tenant_pack_version=f"v1.{index}",
        ).status

    results, errors = run_in_threads(THREADS, work)
    assert errors == []
    assert results == ["applied"] * THREADS
    rows = list(ActivationHistory.objects.filter(tenant_id="TENANT_A").order_by("revision"))
    assert [row.revision for row in rows] == list(range(1, THREADS + 1))
    assert len({row.actor for row in rows}) == THREADS
    for previous, row in itertools.pairwise(rows):
        assert row.from_tenant_pack_id == previous.to_tenant_pack_id
        assert row.from_domain_pack_id == previous.to_domain_pack_id
    config = TenantActiveConfig.objects.get(tenant_id="TENANT_A")
    assert config.revision == THREADS
    assert config.tenant_pack_id == rows[-1].to_tenant_pack_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_approve__two_requests_same_base_concurrently__one_applied_one_stale(
    tenant_a, finance_domain, finance_tenant
):
    base = domain_pack(finance_domain)
    packs = [tenant_pack(finance_tenant, version=v) for v in ("v1.4", "v1.5", "v1.6")]
    config_activate(
        principal=SETUP,
        tenant_id="TENANT_A",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    requests = [
        ConfigChangeRequest.objects.create(
            tenant=tenant_a,
            domain="CapitalMarketsTrading",
            domain_pack=base,
            tenant_pack=pack,
            base_revision=1,
            requested_by="requester",
        ).pk
        for pack in packs[1:]
    ]

    def work(index: int):
        return change_request_approve(
            principal=Principal.system(f"approver-{index}"), change_request_id=requests[index]
        )

    results, errors = run_in_threads(2, work)
    assert len(results) == 1, errors
    assert [getattr(e, "code", e) for e in errors] == ["stale_change_request"]
    statuses = sorted(ConfigChangeRequest.objects.values_list("status", flat=True))
    assert statuses == ["APPLIED", "STALE"]
    assert TenantActiveConfig.objects.get().revision == 2
    assert ActivationHistory.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_activate__same_pair_concurrently__one_applied_rest_unchanged(
    tenant_a, finance_domain, finance_tenant
):
    domain_pack(finance_domain)
    tenant_pack(finance_tenant)

    def work(index: int):
        outcome = config_activate(
            principal=Principal.system(f"worker-{index}"),
            tenant_id="TENANT_A",
            domain_pack_version="v3.2",
            tenant_pack_version="v1.4",
        )
        return outcome.status, outcome.config.revision

    results, errors = run_in_threads(5, work)
    assert errors == []
    assert sorted(results) == [("applied", 1)] + [("unchanged", 1)] * 4
    assert ActivationHistory.objects.count() == 1
