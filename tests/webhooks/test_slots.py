"""Fairness and the circuit breaker, through the real services and the worker's task loops (in this
thread): a busy endpoint's deliveries wait without a task and follow one by one; a tenant at its
cap waits while another tenant's go out; a failing endpoint is paused (audit row, page, API),
probed after its cool-down, resumed by a probe or an ADMIN."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audit.models import AuditEvent
from tenants.services import tenant_create, tenant_set_status
from tests.api.conftest import assert_problem, send
from tests.ui.conftest import HTML, browser
from tests.webhooks.conftest import SETUP, deliver, settle, subscribe
from tests.webhooks.receiver import Answer, Receiver
from webhooks.models import Waiting, WebhookDelivery, WebhookSubscription
from webhooks.services import delivery_attempt, outbox_recover

pytestmark = pytest.mark.django_db(transaction=True)


def events(tenant_id: str, count: int) -> None:
    """`count` committed tenant.status_changed events of one tenant."""
    if not WebhookDelivery.objects.exists() and not _tenant_exists(tenant_id):
        tenant_create(principal=SETUP, tenant_id=tenant_id, name=tenant_id)
    for index in range(count):
        status = "SUSPENDED" if index % 2 == 0 else "ACTIVE"
        tenant_set_status(principal=SETUP, tenant_id=tenant_id, status=status)


def _tenant_exists(tenant_id: str) -> bool:
    from tenants.models import Tenant

    return Tenant.objects.filter(tenant_id=tenant_id).exists()


def test_endpoint_busy__next_deliveries_wait_without_a_task__follow_in_order(
    receiver, fast_retries
):
    subscribe(receiver.url, tenant_id=None)
    tenant_create(principal=SETUP, tenant_id="T1", name="T1")
    events("T1", 4)
    first, *others = WebhookDelivery.objects.order_by("id")
    assert first.task_id is not None and first.waiting == ""
    # A burst for one endpoint queues one task, not four: the others wait for its slot.
    assert [(d.task_id, d.waiting) for d in others] == [(None, Waiting.ENDPOINT)] * 3
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    deliver(lambda: not WebhookDelivery.objects.exclude(status="DELIVERED").exists())
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [d.event_id for d in WebhookDelivery.objects.order_by("id")]  # in order
    assert WebhookDelivery.objects.filter(waiting="").count() == 4


def test_tenant_at_its_cap__its_delivery_waits__another_tenants_goes_out__woken_by_the_sweep(
    receiver, fast_retries, settings
):
    settings.WEBHOOK_TENANT_MAX_IN_FLIGHT = 2
    tenant_create(principal=SETUP, tenant_id="TA", name="A")
    tenant_create(principal=SETUP, tenant_id="TB", name="B")
    with Receiver() as other:
        hooks_a = [subscribe(f"{receiver.url}/{n}", tenant_id="TA").subscription for n in (1, 2, 3)]
        subscribe(other.url, tenant_id="TB")
        events("TA", 1)
        # Two of A's endpoints are in an attempt (workers elsewhere hold their leases).
        running = list(WebhookDelivery.objects.filter(subscription__in=hooks_a[:2]))
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in running]).update(
            lease_until=timezone.now() + timedelta(seconds=60), leased_by="elsewhere"
        )
        events("TB", 1)
        settle()
        third = WebhookDelivery.objects.get(subscription=hooks_a[2])
        assert (third.status, third.waiting, third.task_id) == ("PENDING", Waiting.TENANT, None)
        assert receiver.requests == []
        assert len(other.requests) == 1  # tenant B is not held back by A's cap

        # The other attempts end; the worker's periodic sweep hands the slot on.
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in running]).update(
            status="DELIVERED", lease_until=None, leased_by=""
        )
        assert outbox_recover() == 0  # nothing to hand over; the waiting one is woken
        assert WebhookDelivery.objects.get(pk=third.pk).task_id is not None
        deliver(lambda: WebhookDelivery.objects.get(pk=third.pk).status == "DELIVERED")
        assert [r.path for r in receiver.requests] == ["/hooks/3"]


def test_stale_task__another_task_named__attempt_skipped(receiver, fast_retries):
    subscribe(receiver.url)
    events("T1", 1)
    delivery = WebhookDelivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk, worker_id="w", task_id="0" * 32) == "skipped"
    assert receiver.requests == [] and WebhookDelivery.objects.get().attempt_count == 0


@pytest.fixture
def breaker(settings, fast_retries):
    settings.WEBHOOK_BREAKER_THRESHOLD = 3
    settings.WEBHOOK_BREAKER_COOLDOWN_SECONDS = 600
    settings.WEBHOOK_MAX_ATTEMPTS = 10
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS = 0


def _paused(pk) -> bool:
    return WebhookSubscription.objects.get(pk=pk).paused_at is not None


def test_breaker__failures_in_a_row__paused_said_in_audit_api_and_page_nothing_sent(
    receiver, breaker, owner, admin
):
    receiver.default = Answer(500, b"down")
    hook = subscribe(receiver.url, tenant_id="TENANT_A").subscription
    events("TENANT_A", 2)
    deliver(lambda: _paused(hook.pk))
    settle()
    assert len(receiver.requests) == 3  # the threshold, then nothing while paused
    hook.refresh_from_db()
    assert hook.failure_streak == 3 and hook.pause_reason == "HTTP 500"
    assert hook.paused_until - hook.paused_at == timedelta(seconds=600)
    row = AuditEvent.objects.get(action="webhook.paused")
    assert (row.actor, row.tenant_id, row.object_id) == ("system", "TENANT_A", str(hook.pk))
    assert row.details["failures"] == 3 and row.details["cooldown_seconds"] == 600
    waiting = WebhookDelivery.objects.filter(status="PENDING")
    assert set(waiting.values_list("waiting", flat=True)) == {Waiting.PAUSED}
    assert not waiting.filter(task_id__isnull=False).exists()

    body = send(owner.client, "GET", f"/admin/webhooks/{hook.pk}").json()
    assert body["paused_at"] is not None and body["failure_streak"] == 3
    assert body["pause_reason"] == "HTTP 500"
    page = browser(admin).get(f"/admin/webhooks/{hook.pk}", **HTML)
    html = page.content.decode()
    assert page.status_code == 200 and "Paused by the circuit breaker" in html
    assert f'action="/admin/webhooks/{hook.pk}/resume"' in html
    listing = browser(admin).get("/admin/webhooks", **HTML).content.decode()
    assert "PAUSED" in listing


def test_breaker__cool_down_over__one_probe__success_resumes_and_the_waiting_follow(
    receiver, breaker
):
    receiver.default = Answer(500, b"down")
    hook = subscribe(receiver.url, tenant_id=None).subscription
    events("T1", 3)
    deliver(lambda: _paused(hook.pk))
    settle()
    receiver.default = Answer(200, b"ok")
    sent_before = len(receiver.requests)
    # The cool-down ends (moved into the past rather than waited for).
    WebhookSubscription.objects.filter(pk=hook.pk).update(paused_until=timezone.now())
    outbox_recover()
    # One probe, not every waiting delivery.
    assert WebhookDelivery.objects.filter(status="PENDING", task_id__isnull=False).count() == 1
    deliver(lambda: not WebhookDelivery.objects.exclude(status="DELIVERED").exists())
    settle()
    hook.refresh_from_db()
    assert (hook.paused_at, hook.paused_until, hook.failure_streak) == (None, None, 0)
    resumed = AuditEvent.objects.get(action="webhook.resumed")
    assert resumed.actor == "system" and resumed.details["by"] == "probe"
    ids = [r.headers["webhook-id"] for r in receiver.requests[sent_before:]]
    assert sorted(ids) == sorted(set(WebhookDelivery.objects.values_list("event_id", flat=True)))


def test_breaker__probe_fails__paused_again_without_a_second_audit_row(receiver, breaker):
    receiver.default = Answer(503, b"still down")
    hook = subscribe(receiver.url).subscription
    events("T1", 1)
    deliver(lambda: _paused(hook.pk))
    first_pause = WebhookSubscription.objects.get(pk=hook.pk).paused_at
    WebhookSubscription.objects.filter(pk=hook.pk).update(paused_until=timezone.now())
    outbox_recover()
    deliver(lambda: WebhookSubscription.objects.get(pk=hook.pk).paused_until > timezone.now())
    settle()
    hook.refresh_from_db()
    assert hook.failure_streak == 4 and hook.paused_at == first_pause
    assert AuditEvent.objects.filter(action="webhook.paused").count() == 1
    assert not AuditEvent.objects.filter(action="webhook.resumed").exists()
    assert len(receiver.requests) == 4


def test_resume__admin__waiting_deliveries_go_out_at_once_and_an_audit_row(
    receiver, breaker, owner
):
    receiver.default = Answer(500, b"down")
    hook = subscribe(receiver.url, tenant_id="TENANT_A").subscription
    events("TENANT_A", 2)
    deliver(lambda: _paused(hook.pk))
    settle()
    receiver.default = Answer(200, b"ok")
    response = send(owner.client, "POST", f"/admin/webhooks/{hook.pk}/resume", {})
    assert response.status_code == 200, response.content
    assert response.json()["paused_at"] is None
    row = AuditEvent.objects.get(action="webhook.resumed")
    assert (row.actor, row.details["by"], row.details["failures"]) == ("owner-a", "admin", 3)
    deliver(lambda: not WebhookDelivery.objects.exclude(status="DELIVERED").exists())
    assert_problem(
        send(owner.client, "POST", f"/admin/webhooks/{hook.pk}/resume", {}),
        409,
        "webhook_not_paused",
    )


def test_resume__page_door__redirects_with_a_message(receiver, breaker, admin):
    hook = subscribe(receiver.url).subscription
    now = timezone.now()
    WebhookSubscription.objects.filter(pk=hook.pk).update(
        paused_at=now, paused_until=now + timedelta(seconds=600), failure_streak=3
    )
    response = browser(admin).post(f"/admin/webhooks/{hook.pk}/resume", **HTML)
    assert response.status_code == 303 and response["Location"] == f"/admin/webhooks/{hook.pk}"
    assert not _paused(hook.pk)


def test_patch_url__paused_endpoint__breaker_starts_afresh(receiver, breaker, admin):
    hook = subscribe(receiver.url).subscription
    now = timezone.now()
    WebhookSubscription.objects.filter(pk=hook.pk).update(
        paused_at=now, paused_until=now + timedelta(seconds=600), failure_streak=3, slow=True
    )
    response = send(
        admin.client, "PATCH", f"/admin/webhooks/{hook.pk}", {"url": receiver.url + "2"}
    )
    assert response.status_code == 200 and response.json()["paused_at"] is None
    hook.refresh_from_db()
    assert (hook.failure_streak, hook.slow) == (0, False)


def test_slow_endpoint__moves_to_the_slow_lane__back_after_a_quick_success(
    receiver, fast_retries, settings
):
    settings.WEBHOOK_READ_TIMEOUT = 0.2
    receiver.answers = [Answer(200, delay=3.0)]
    hook = subscribe(receiver.url).subscription
    events("T1", 1)
    deliver(lambda: WebhookSubscription.objects.get(pk=hook.pk).slow)
    retry = WebhookDelivery.objects.get()
    assert DBTaskResult.objects.get(pk=retry.task_id).queue_name == "webhooks_slow"
    deliver(lambda: WebhookDelivery.objects.get().status == "DELIVERED")
    assert not WebhookSubscription.objects.get(pk=hook.pk).slow


def test_chain__answering_endpoint__one_task_delivers_its_waiting_deliveries_in_order(
    receiver, fast_retries
):
    subscribe(receiver.url)
    events("T1", 4)
    deliver(lambda: not WebhookDelivery.objects.exclude(status="DELIVERED").exists())
    (task,) = DBTaskResult.objects.filter(queue_name="webhooks")
    assert task.return_value == "4 delivered, 0 failed"
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [d.event_id for d in WebhookDelivery.objects.order_by("id")]
    assert set(WebhookDelivery.objects.values_list("attempt_count", flat=True)) == {1}


def test_chain__off__one_task_per_delivery(receiver, fast_retries, settings):
    settings.WEBHOOK_CHAIN_SECONDS = 0
    subscribe(receiver.url)
    events("T1", 3)
    deliver(lambda: not WebhookDelivery.objects.exclude(status="DELIVERED").exists())
    assert DBTaskResult.objects.filter(queue_name="webhooks").count() == 3
