"""Delivery end to end: real services emit events, the worker's task loops (django-tasks database
backend) send them to a real local HTTP receiver, which verifies each signature with the
standardwebhooks library."""

import copy
import json
from collections import Counter

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from audit.models import AuditEvent
from governance.services import (
    change_request_approve,
    change_request_cancel,
    change_request_reject,
    config_activate,
    config_rollback,
    tenant_set_approval_policy,
)
from onboarding.errors import ServiceError
from packs.services import domain_pack_import, tenant_pack_import
from tenants.principals import Principal
from tenants.services import tenant_create, tenant_set_status
from tests.rollouts.events import every_rollout_event
from tests.webhooks.conftest import SETUP, deliver, settle, subscribe
from tests.webhooks.receiver import Answer, Receiver
from webhooks.events import EVENT_TYPES, event_type_for
from webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

pytestmark = pytest.mark.django_db(transaction=True)
FINANCE = "TENANT_FINANCE_001"
REVIEWER = Principal.system("reviewer")


def _tenant_content(base: dict, version: str) -> dict:
    content = copy.deepcopy(base)
    content["tenantId"] = FINANCE
    content["version"] = version
    return content


def _every_kind_of_event(finance_domain, finance_tenant, scheduler) -> None:
    """One or more of each event type of the catalogue, through the real services."""
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    domain_pack_import(principal=SETUP, content=finance_domain, version="1.0.0")
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        tenant_pack_import(
            principal=SETUP, tenant_id=FINANCE, content=_tenant_content(finance_tenant, version)
        )
    with pytest.raises(ServiceError):
        domain_pack_import(principal=SETUP, content={"domainName": 5}, version="9.0.0")

    def activate(version: str):
        return config_activate(
            principal=SETUP,
            tenant_id=FINANCE,
            domain_pack_version="1.0.0",
            tenant_pack_version=version,
        )

    activate("1.0.0")
    activate("1.1.0")
    config_rollback(principal=SETUP, tenant_id=FINANCE)
    tenant_set_approval_policy(principal=SETUP, tenant_id=FINANCE, require_activation_approval=True)
    approved = activate("1.2.0").change_request
    change_request_approve(principal=REVIEWER, change_request_id=approved.pk)
    rejected = activate("1.3.0").change_request
    change_request_reject(principal=REVIEWER, change_request_id=rejected.pk)
    cancelled = activate("1.3.0").change_request
    change_request_cancel(principal=SETUP, change_request_id=cancelled.pk)
    stale = activate("1.3.0").change_request
    # Switching approval off is itself a change request for a second ADMIN.
    weakening = tenant_set_approval_policy(
        principal=SETUP, tenant_id=FINANCE, require_activation_approval=False
    ).change_request
    change_request_approve(principal=REVIEWER, change_request_id=weakening.pk)
    activate("1.1.0")
    with pytest.raises(ServiceError):
        change_request_approve(principal=REVIEWER, change_request_id=stale.pk)
    _scheduled_activation(scheduler, "1.2.0")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    _identity_events(scheduler)


def _identity_events(admin) -> None:
    """user.*, role.*, token.* (issue 21), through the identity services."""
    from identity import services as identity

    identity.user_create(actor=admin.principal, username="hook-user")
    identity.user_update(actor=admin.principal, username="hook-user", display_name="Hook")
    binding = identity.role_grant(actor=admin.principal, username="hook-user", role="VIEWER")
    token, _ = identity.token_create(actor=admin.principal, name="hook", username="hook-user")
    identity.token_revoke(actor=admin.principal, token_id=token.pk)
    identity.role_revoke(actor=admin.principal, username="hook-user", binding_id=binding.binding.pk)
    identity.user_deactivate(actor=admin.principal, username="hook-user")


def _scheduled_activation(actor, version: str) -> None:
    """Scheduled, then applied by the worker's service when due (moved into the past here)."""
    from datetime import timedelta

    from django.utils import timezone

    from governance.services import change_request_apply_scheduled
    from runtime_config.models import ConfigChangeRequest

    outcome = config_activate(
        principal=actor.principal,
        tenant_id=FINANCE,
        tenant_pack_version=version,
        apply_at=(timezone.now() + timedelta(hours=1)).isoformat(),
    )
    ConfigChangeRequest.objects.filter(pk=outcome.change_request.pk).update(
        apply_at=timezone.now() - timedelta(seconds=1)
    )
    assert change_request_apply_scheduled(change_request_id=str(outcome.change_request.pk)) == (
        "applied"
    )


def _published_types() -> list[str]:
    """What the audit trail says happened, as webhook event types (None: not published)."""
    from onboarding.events import DomainEvent

    types = []
    for row in AuditEvent.objects.order_by("id"):
        event = DomainEvent(action=row.action, actor=row.actor, summary="", details=row.details)
        if (event_type := event_type_for(event)) is not None:
            types.append(event_type)
    return types


def test_every_event_type__local_receiver__each_received_once_with_a_valid_signature(
    receiver, fast_retries, finance_domain, finance_tenant, admin
):
    created = subscribe(receiver.url)
    _every_kind_of_event(finance_domain, finance_tenant, admin)
    every_rollout_event(finance_domain, finance_tenant)
    expected = _published_types()
    assert set(expected) == set(EVENT_TYPES)

    deliver(lambda: len(receiver.requests) >= len(expected))
    settle()  # nothing else may arrive
    bodies = receiver.verified(created.secret)
    assert Counter(body["type"] for body in bodies) == Counter(expected)
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(set(ids)) == len(ids) == len(expected)
    assert [body["id"] for body in bodies] == ids
    assert set(ids) == set(WebhookEvent.objects.values_list("id", flat=True))
    for body in bodies:
        assert set(body) == {"id", "type", "occurred_at", "tenant_id", "data"}
        assert body["occurred_at"].endswith("Z")
    # The finance tenant's own events (the rollouts' tenants have rollbacks of their own).
    by_type = {body["type"]: body for body in bodies if body["tenant_id"] in (FINANCE, None)}
    assert by_type["config.rolled_back"]["tenant_id"] == FINANCE
    assert by_type["config.rolled_back"]["data"]["details"]["kind"] == "rollback"
    assert by_type["pack.import_rejected"]["data"]["details"]["error_count"] > 0
    assert by_type["tenant.status_changed"]["data"]["details"]["after"]["status"] == "SUSPENDED"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"DELIVERED"}


def test_signature__another_secret_or_a_changed_body__fails_verification(receiver, fast_retries):
    created = subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    deliver(lambda: len(receiver.requests) >= 1)
    request = receiver.requests[0]
    assert Webhook(created.secret).verify(request.body, request.headers)["type"] == (
        "tenant.status_changed"
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(subscribe(receiver.url).secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        changed = request.body.replace(b"SUSPENDED", b"ACTIVE")
        Webhook(created.secret).verify(changed, request.headers)
    assert request.headers["webhook-signature"].startswith("v1,")


def test_receiver_answers_500_then_200__retried__delivered_once_with_both_attempts_kept(
    receiver, fast_retries
):
    receiver.answers = [Answer(500, b"boom"), Answer(503, b"later"), Answer(200, b"thanks")]
    created = subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")

    deliver(lambda: WebhookDelivery.objects.filter(status="DELIVERED").exists())
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # same message id
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes every time
    receiver.verified(created.secret)  # every attempt is signed afresh, and verifies
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == (
        "DELIVERED",
        3,
        200,
    )
    attempts = list(delivery.attempts.order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert [a.response_excerpt for a in attempts] == ["boom", "later", "thanks"]
    assert all(a.remote_ip == "127.0.0.1" and a.duration_ms >= 0 for a in attempts)
    assert attempts[1].started_at > attempts[0].started_at


def test_transaction_rolled_back__event_never_sent(receiver, fast_retries):
    subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
        assert WebhookEvent.objects.count() == 1  # written beside the audit row...
        raise Abort

    assert WebhookEvent.objects.count() == WebhookDelivery.objects.count() == 0  # ...and gone
    settle()
    assert receiver.requests == []
    # The next committed change is delivered normally.
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    deliver(lambda: len(receiver.requests) == 1)
    assert json.loads(receiver.requests[0].body)["data"]["details"]["after"]["status"] == (
        "SUSPENDED"
    )


@pytest.mark.django_db(transaction=False)  # the forced failure is a trigger: rolled back with it
def test_audit_insert_fails__change_and_event_both_rolled_back(receiver, fast_retries):
    from tests.audit.test_receivers import _force_audit_insert_failure

    subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    _force_audit_insert_failure("tenant.status_changed")
    with pytest.raises(Exception, match="forced"):
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    from django_tasks_db.models import DBTaskResult

    # No event, no delivery, no task: nothing a worker could ever send.
    assert WebhookEvent.objects.count() == WebhookDelivery.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_receiver_always_fails__max_attempts_then_failed(receiver, fast_retries, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    receiver.default = Answer(500, b"down")
    subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    deliver(lambda: WebhookDelivery.objects.filter(status="FAILED").exists())
    settle()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count) == ("FAILED", 4)
    assert delivery.attempts.count() == 4 == len(receiver.requests)
    assert delivery.finished_at is not None


def test_redirect__not_followed__attempt_fails(receiver, fast_retries, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    with Receiver() as other:
        receiver.default = Answer(307, b"", headers={"Location": other.url})
        subscribe(receiver.url)
        tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
        deliver(lambda: WebhookDelivery.objects.filter(status="FAILED").exists())
        assert other.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 307 and not attempt.succeeded
    assert "redirect not followed" in attempt.error


def test_slow_receiver__read_timeout__attempt_fails_and_is_retried(
    receiver, fast_retries, settings
):
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    receiver.answers = [Answer(200, delay=5.0)]
    subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    deliver(lambda: WebhookDelivery.objects.filter(status="DELIVERED").exists())
    first, second = WebhookAttempt.objects.order_by("number")
    assert first.status_code is None and "read timeout" in first.error
    assert first.duration_ms < 4000  # cut by the read timeout, not waiting 5 s for the answer
    assert second.succeeded


def test_large_answer__only_an_excerpt_is_read_and_kept(receiver, fast_retries):
    receiver.default = Answer(200, b"\x00x" * 500_000)
    subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    deliver(lambda: WebhookDelivery.objects.filter(status="DELIVERED").exists())
    attempt = WebhookAttempt.objects.get()
    assert len(attempt.response_excerpt) == 2048
    assert "\x00" not in attempt.response_excerpt


def test_nobody_listening__connection_refused__recorded_and_retried(fast_retries, allow_private):
    with Receiver() as gone:
        url = gone.url
    subscribe(url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    deliver(lambda: WebhookAttempt.objects.count() >= 2, timeout=5)
    attempt = WebhookAttempt.objects.order_by("number").first()
    assert attempt.status_code is None and "connection failed" in attempt.error
    assert WebhookDelivery.objects.get().status == "PENDING"


def test_scoping__tenant_hook_gets_only_its_tenants_events__platform_hook_gets_all(
    receiver, fast_retries
):
    tenant_create(principal=SETUP, tenant_id="TENANT_A", name="A")
    tenant_create(principal=SETUP, tenant_id="TENANT_B", name="B")
    with Receiver() as platform:
        subscribe(receiver.url, tenant_id="TENANT_A", events=["tenant.status_changed"])
        subscribe(platform.url, events=["tenant.status_changed"])
        subscribe(receiver.url, tenant_id="TENANT_A", events=["pack.imported"])
        subscribe(receiver.url, tenant_id="TENANT_A", active=False)
        for tenant_id in ("TENANT_A", "TENANT_B"):
            tenant_set_status(principal=SETUP, tenant_id=tenant_id, status="SUSPENDED")
        deliver(lambda: len(platform.requests) == 2 and len(receiver.requests) == 1)
        settle()
        assert [json.loads(r.body)["tenant_id"] for r in receiver.requests] == ["TENANT_A"]
        assert sorted(json.loads(r.body)["tenant_id"] for r in platform.requests) == [
            "TENANT_A",
            "TENANT_B",
        ]
    # One event per change, fanned out to the matching subscriptions.
    assert WebhookEvent.objects.count() == 2
    assert WebhookDelivery.objects.count() == 3


def test_no_subscription__nothing_written(fast_retries):
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    assert WebhookEvent.objects.count() == 0


def test_webhook_deactivated_before_sending__delivery_cancelled(receiver, fast_retries):
    from webhooks.services import webhook_update

    created = subscribe(receiver.url)
    tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    webhook_update(principal=SETUP, webhook_id=created.subscription.pk, active=False)
    deliver(lambda: WebhookDelivery.objects.exclude(status="PENDING").exists())
    assert WebhookDelivery.objects.get().status == DeliveryStatus.CANCELLED
    assert receiver.requests == []


@pytest.mark.parametrize("host", ["localhost.", "foo.localhost.", "localhost.localdomain."])
def test_stored_url_names_this_machine__refused_at_delivery__nothing_sent(
    host, fast_retries, settings
):
    """A subscription saved before the name rule (or around it) is refused at every send."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        created = subscribe("https://hooks.example.com/in")
        WebhookSubscription.objects.filter(pk=created.subscription.pk).update(
            url=f"http://{host}:{port}/hooks"
        )
        tenant_create(principal=SETUP, tenant_id=FINANCE, name="Finance")
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
        deliver(lambda: WebhookDelivery.objects.filter(status="FAILED").exists())
        assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "names this machine" in attempt.error
