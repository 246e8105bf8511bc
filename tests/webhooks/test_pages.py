"""The webhook pages: subscriptions with a create form that shows the secret once (never through the
session), a detail page with deliveries, attempts and a redeliver button (POST, ConfirmDialog,
CSRF, ADMIN only)."""

import re

import pytest

from audit.models import AuditEvent
from tests.ui.conftest import HTML, HTMX, browser
from tests.webhooks.conftest import deliver, subscribe
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

HOOK = "https://hooks.example.com/in"


def _delivered(hook) -> WebhookDelivery:
    event = WebhookEvent.objects.create(
        type="tenant.status_changed", occurred_at=hook.created_at, tenant_id=hook.tenant_id
    )
    return WebhookDelivery.objects.create(
        event=event,
        subscription=hook,
        status="DELIVERED",
        attempt_count=1,
        next_attempt_at=hook.created_at,
        created_at=hook.created_at,
    )


def test_list_page__admin__form_and_rows(admin):
    subscribe(HOOK, events=["pack.imported"])
    response = browser(admin).get("/admin/webhooks", **HTML)
    assert response.status_code == 200
    html = response.content.decode()
    assert HOOK in html and 'name="events"' in html and "csrfmiddlewaretoken" in html
    assert 'href="/admin/webhooks"' in html  # the nav link


def test_create_form__secret_shown_in_the_answer_only__not_in_the_session(admin):
    client = browser(admin)
    response = client.post(
        "/admin/webhooks",
        {"url": HOOK, "events": ["pack.imported", "config.activated"], "active": "on"},
        **HTML,
    )
    assert response.status_code == 201, response.content[:500]
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", response.content.decode()).group(0)
    hook = WebhookSubscription.objects.get()
    assert hook.events == ["pack.imported", "config.activated"] and hook.active
    from webhooks.signing_secrets import decrypt

    assert decrypt(hook.secret_encrypted) == secret
    from django.contrib.sessions.models import Session

    assert all(secret not in str(s.get_decoded()) for s in Session.objects.all())
    again = client.get("/admin/webhooks", **HTML).content.decode()
    assert secret not in again
    detail = client.get(f"/admin/webhooks/{hook.pk}", **HTML).content.decode()
    assert secret not in detail


def test_create_form__bad_url__400_form_error_nothing_written(admin):
    before = AuditEvent.objects.count()
    response = browser(admin).post(
        "/admin/webhooks", {"url": "http://10.0.0.1/x", "events": ["pack.imported"]}, **HTML
    )
    assert response.status_code == 400
    assert "private" in response.content.decode()
    assert WebhookSubscription.objects.count() == 0 and AuditEvent.objects.count() == before


def test_pages__viewer_and_member__403(viewer, member):
    hook = subscribe(HOOK, tenant_id="TENANT_A").subscription
    for actor in (viewer, member):
        for url in ("/admin/webhooks", f"/admin/webhooks/{hook.pk}"):
            assert browser(actor).get(url, **HTML).status_code == 403
    assert (
        'href="/admin/webhooks"'
        not in browser(viewer).get("/admin/tenants", **HTML).content.decode()
    )


def test_detail_page__other_tenants_admin__404(outsider, tenant_a):
    hook = subscribe(HOOK, tenant_id="TENANT_A").subscription
    assert browser(outsider).get(f"/admin/webhooks/{hook.pk}", **HTML).status_code == 404


def test_detail_page__deliveries_attempts_and_a_redeliver_dialog(owner):
    hook = subscribe(HOOK, tenant_id="TENANT_A").subscription
    delivery = _delivered(hook)
    delivery.attempts.create(
        number=1,
        started_at=hook.created_at,
        status_code=200,
        succeeded=True,
        response_excerpt="<script>alert(1)</script>",
    )
    html = browser(owner).get(f"/admin/webhooks/{hook.pk}", **HTML).content.decode()
    assert "DELIVERED" in html and "tenant.status_changed" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html  # escaped
    action = f"/admin/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver"
    assert f'action="{action}"' in html and "<dialog" in html


@pytest.mark.django_db(transaction=True)
def test_redeliver_button__post_with_csrf__queued_and_sent(owner, receiver, fast_retries, tenant_a):
    hook = subscribe(receiver.url, tenant_id="TENANT_A").subscription
    delivery = _delivered(hook)
    client = browser(owner, csrf=True)
    page = client.get(f"/admin/webhooks/{hook.pk}", **HTML)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    url = f"/admin/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver"
    assert client.post(url, {}, **HTML).status_code == 403  # no CSRF token
    assert WebhookDelivery.objects.count() == 1
    response = client.post(url, {"csrfmiddlewaretoken": token.group(1)}, **HTML)
    assert response.status_code == 303 and response["Location"] == f"/admin/webhooks/{hook.pk}"
    assert WebhookDelivery.objects.filter(redelivery_of=delivery).count() == 1
    deliver(lambda: len(receiver.requests) == 1)
    assert receiver.requests[0].headers["webhook-id"] == delivery.event_id


def test_detail_form__update_and_delete(admin):
    hook = subscribe(HOOK).subscription
    client = browser(admin)
    response = client.post(
        f"/admin/webhooks/{hook.pk}",
        {"op": "update", "url": "https://b.example.com/x", "events": ["pack.imported"]},
        **HTMX,
    )
    assert response.status_code == 200 and response["HX-Redirect"] == f"/admin/webhooks/{hook.pk}"
    hook.refresh_from_db()
    assert (hook.url, hook.events, hook.active) == (
        "https://b.example.com/x",
        ["pack.imported"],
        False,
    )
    response = client.post(f"/admin/webhooks/{hook.pk}", {"op": "delete"}, **HTML)
    assert response.status_code == 303 and not WebhookSubscription.objects.exists()


def test_deliveries_table_partial__htmx_filter__returns_only_the_table(admin):
    hook = subscribe(HOOK).subscription
    _delivered(hook)
    response = browser(admin).get(
        f"/admin/webhooks/{hook.pk}?status=FAILED",
        HTTP_HX_TARGET="deliveries-table",
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="deliveries-table"' in html and "No deliveries yet." in html
