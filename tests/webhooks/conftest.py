"""Fixtures for webhook tests: a local receiver (allowed through WEBHOOK_ALLOW_PRIVATE), fast
retries, `deliver` — the worker's task loops run in this thread until a condition holds — and
`settle`, which runs them until nothing is due (no fixed absence window: a test that checks
that nothing more is sent waits for the outbox to be quiet, not for time to pass)."""

from collections.abc import Callable

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from onboarding.worker import drain
from tenants.principals import Principal
from tests.waiting import holds
from tests.webhooks.receiver import Receiver
from webhooks.events import EVENT_TYPES
from webhooks.services import webhook_create

SETUP = Principal.system("setup")


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS = 0.2
    settings.WEBHOOK_CONNECT_TIMEOUT = 1.0
    settings.WEBHOOK_READ_TIMEOUT = 1.0
    settings.WEBHOOK_ATTEMPT_TIMEOUT = 2.0
    settings.WEBHOOK_LEASE_SECONDS = 5.0


@pytest.fixture
def receiver(allow_private):
    with Receiver() as running:
        yield running


def subscribe(url: str, *, events=EVENT_TYPES, tenant_id: str | None = None, active=True):
    return webhook_create(
        principal=SETUP, url=url, events=list(events), tenant_id=tenant_id, active=active
    )


def deliver(until: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Run due tasks until `until()` holds or `timeout` passes; whether it held (the caller
    asserts on the outcome it means)."""

    def drained() -> bool:
        drain()
        return until()

    return holds(drained, timeout=timeout)


def due_tasks() -> int:
    now = timezone.now()
    ready = DBTaskResult.objects.filter(status="READY")
    return ready.filter(run_after__lte=now).count() + ready.filter(run_after__isnull=True).count()


def settle(rounds: int = 50) -> None:
    """Run due tasks until none is left: whatever the outbox would still send now has been
    sent (retries scheduled later are not due, and stay)."""
    for _ in range(rounds):
        drain()
        if not due_tasks():
            return
    raise AssertionError(f"the outbox did not settle: {due_tasks()} task(s) still due")
