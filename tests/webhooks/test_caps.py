"""Caps: subscriptions per tenant (409 webhook_limit_reached) and the redelivery rate (429
rate_limited with Retry-After, both doors), and one pending redelivery per event and webhook.
Every refusal writes nothing (tests.db_state: every row of every table)."""

import threading

import pytest
from django.db import connections

from onboarding.errors import Conflict
from tests.api.conftest import assert_problem, send
from tests.db_state import db_state as state
from tests.ui.conftest import HTML, browser
from tests.webhooks.conftest import SETUP, deliver, subscribe
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import webhook_create

HOOK = "https://hooks.example.com/in"


def create(actor, tenant_id="TENANT_A"):
    body = {"url": HOOK, "events": ["config.activated"]}
    if tenant_id:
        body["tenant_id"] = tenant_id
    return send(actor.client, "POST", "/admin/webhooks", body)


@pytest.mark.django_db
def test_create__tenant_at_its_cap__409_webhook_limit_reached_nothing_written(
    owner, tenant_b, settings
):
    settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT = 3
    for _ in range(3):
        assert create(owner).status_code == 201
    subscribe(HOOK, tenant_id="TENANT_B")  # another tenant's do not count
    before = state()
    body = assert_problem(create(owner), 409, "webhook_limit_reached")
    assert "3" in body["detail"] and "TENANT_A" in body["detail"]
    assert state() == before


@pytest.mark.django_db
def test_create__platform_at_its_cap__409(admin, settings):
    settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT = 2
    for _ in range(2):
        assert create(admin, tenant_id=None).status_code == 201
    before = state()
    assert_problem(create(admin, tenant_id=None), 409, "webhook_limit_reached")
    assert state() == before


@pytest.mark.django_db
def test_create_form__at_the_cap__409_page_with_the_reason(admin, settings):
    settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT = 1
    subscribe(HOOK)
    response = browser(admin).post(
        "/admin/webhooks", {"url": HOOK, "events": ["pack.imported"], "active": "on"}, **HTML
    )
    assert response.status_code == 409
    assert "WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT" in response.content.decode()
    assert WebhookSubscription.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_create__concurrent_creations_for_the_last_place__exactly_one_wins(tenant_a, settings):
    settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT = 3
    subscribe(HOOK, tenant_id="TENANT_A")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def one() -> None:
        try:
            barrier.wait()
            webhook_create(
                principal=SETUP, url=HOOK, events=["pack.imported"], tenant_id="TENANT_A"
            )
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] * 2 + ["webhook_limit_reached"] * 4
    assert WebhookSubscription.objects.filter(tenant_id="TENANT_A").count() == 3


@pytest.fixture
def delivered(receiver, fast_retries, tenant_a):
    """A delivered event of TENANT_A's webhook: (webhook id, delivery id)."""
    from tenants.services import tenant_set_status

    hook = subscribe(receiver.url, tenant_id="TENANT_A").subscription
    tenant_set_status(principal=SETUP, tenant_id="TENANT_A", status="SUSPENDED")
    deliver(lambda: WebhookDelivery.objects.filter(status="DELIVERED").exists())
    return hook.pk, WebhookDelivery.objects.get().pk


def redeliver_url(hook_id, delivery_id) -> str:
    return f"/admin/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver"


@pytest.mark.django_db(transaction=True)
def test_redeliver__over_the_rate__429_rate_limited_retry_after_nothing_written(
    owner, delivered, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "webhook_redeliver": "3/m"}
    hook_id, delivery_id = delivered
    for _ in range(3):
        response = send(owner.client, "POST", redeliver_url(hook_id, delivery_id), {})
        assert response.status_code == 202, response.content
        # One pending redelivery at a time: the next waits for this one to be delivered.
        deliver(lambda: not WebhookDelivery.objects.filter(status="PENDING").exists())
    before = state()
    refused = send(owner.client, "POST", redeliver_url(hook_id, delivery_id), {})
    body = assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 61 and body["retry_after"] == int(
        refused["Retry-After"]
    )
    assert state() == before
    # The page door counts in the same buckets.
    page = browser(owner).post(redeliver_url(hook_id, delivery_id), **HTML)
    assert page.status_code == 429 and 1 <= int(page["Retry-After"]) <= 61
    assert state() == before


@pytest.mark.django_db(transaction=True)
def test_redeliver__same_event_still_pending__409_delivery_pending_nothing_written(
    owner, delivered
):
    hook_id, delivery_id = delivered
    assert send(owner.client, "POST", redeliver_url(hook_id, delivery_id), {}).status_code == 202
    before = state()
    assert_problem(
        send(owner.client, "POST", redeliver_url(hook_id, delivery_id), {}), 409, "delivery_pending"
    )
    assert state() == before
