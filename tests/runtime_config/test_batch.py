"""`apply_targets` writes a batch's audit rows and webhook events together (`batched_writes`):
one chain, every row in order and verifiable, each tenant's event where its subscriptions want it,
and a number of statements that does not grow with the number of tenants."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from onboarding.events import DomainEvent, batched_writes, send_event
from runtime_config.models import TenantActiveConfig
from runtime_config.services import Target, apply_targets
from tenants import signals as tenant_signals
from tenants.models import Tenant
from tests.audit.helpers import verify
from tests.runtime_config.activation_helpers import SETUP, domain_pack
from tests.webhooks.conftest import subscribe
from webhooks.models import Waiting, WebhookDelivery, WebhookEvent

DOMAIN = "CapitalMarketsTrading"


def _fleet(count: int, first: int = 1) -> list[str]:
    ids = [f"B{number:03d}" for number in range(first, first + count)]
    Tenant.objects.bulk_create([Tenant(tenant_id=i, name=i, created_by="setup") for i in ids])
    return ids


def _apply(ids, pack) -> None:
    with transaction.atomic():
        apply_targets(
            principal=SETUP,
            targets={tenant_id: Target(DOMAIN, pack, None) for tenant_id in ids},
            comment="batch",
            kind="activate",
        )


def _event(tenant_id: str | None, summary: str) -> DomainEvent:
    return DomainEvent(
        action="tenant.status_changed", actor="setup", summary=summary, tenant_id=tenant_id
    )


def test_apply_targets__many_tenants__one_audit_row_each_in_order_chain_verifies(
    db, finance_domain
):
    pack = domain_pack(finance_domain, "v3.2")
    ids = _fleet(5)
    before = AuditEvent.objects.count()
    _apply(ids, pack)
    rows = list(AuditEvent.objects.filter(action="config.activated").order_by("id"))
    assert [row.tenant_id for row in rows] == ids
    assert AuditEvent.objects.count() == before + len(ids) + 1  # and the pack's promotion
    assert "intact" in verify("--full")


def test_apply_targets__statements__do_not_grow_with_tenants(db, finance_domain, settings):
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 1
    pack = domain_pack(finance_domain, "v3.2")
    subscribe("https://hooks.example.com/in", events=["config.activated"])
    _apply(_fleet(1, first=900), pack)  # the pack's promotion, the endpoint's one slot taken
    counts = []
    for first, size in ((1, 3), (100, 30)):
        ids = _fleet(size, first=first)
        with CaptureQueriesContext(connection) as queries:
            _apply(ids, pack)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert TenantActiveConfig.objects.filter(domain_pack=pack).count() == 34
    assert WebhookDelivery.objects.count() == 34


def test_apply_targets__endpoint_cap__first_deliveries_get_tasks_the_rest_wait(
    db, finance_domain, settings
):
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 2
    pack = domain_pack(finance_domain, "v3.2")
    subscribe("https://hooks.example.com/in", events=["config.activated"])
    _apply(_fleet(5), pack)
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [bool(d.task_id) for d in deliveries] == [True, True, False, False, False]
    assert [d.waiting for d in deliveries][2:] == [Waiting.ENDPOINT] * 3


def test_apply_targets__subscriptions__each_tenant_event_to_its_own_and_platform_ones(
    db, finance_domain
):
    pack = domain_pack(finance_domain, "v3.2")
    ids = _fleet(3)
    platform = subscribe("https://hooks.example.com/all", events=["config.activated"]).subscription
    own = subscribe(
        "https://hooks.example.com/b2", events=["config.activated"], tenant_id=ids[1]
    ).subscription
    _apply(ids, pack)
    events = WebhookEvent.objects.filter(type="config.activated")
    assert sorted(event.tenant_id for event in events) == ids
    deliveries = WebhookDelivery.objects.filter(event__type="config.activated")
    assert (
        sorted(deliveries.filter(subscription=platform).values_list("event__tenant_id", flat=True))
        == ids
    )
    assert list(deliveries.filter(subscription=own).values_list("event__tenant_id", flat=True)) == [
        ids[1]
    ]
    # Each one has its first task, or waits for its endpoint's slot like any other delivery.
    assert all(d.task_id or d.waiting != Waiting.NO for d in deliveries)


def test_batched_writes__block_raises__nothing_written(db):
    subscribe("https://hooks.example.com/in", events=["tenant.status_changed"])
    audit, outbox = AuditEvent.objects.count(), WebhookEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic(), batched_writes():
        send_event(tenant_signals.tenant_status_changed, Tenant, _event(None, "one"))
        raise RuntimeError("the batch fails")
    assert (AuditEvent.objects.count(), WebhookEvent.objects.count()) == (audit, outbox)


def test_batched_writes__nested__written_once_when_the_outer_block_ends(db):
    subscribe("https://hooks.example.com/in", events=["tenant.status_changed"])
    audit = AuditEvent.objects.count()
    with transaction.atomic(), batched_writes():
        send_event(tenant_signals.tenant_status_changed, Tenant, _event(None, "outer"))
        with batched_writes():
            send_event(tenant_signals.tenant_status_changed, Tenant, _event(None, "inner"))
        assert AuditEvent.objects.count() == audit  # still waiting for the outer block
    summaries = AuditEvent.objects.order_by("id").values_list("summary", flat=True)
    assert list(summaries[audit:]) == ["outer", "inner"]
    assert WebhookEvent.objects.filter(type="tenant.status_changed").count() == 2
    assert "intact" in verify("--full")
