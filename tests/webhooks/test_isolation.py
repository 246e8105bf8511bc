"""Issue 25, #1, end to end with a real `run_worker` (its default loops, lanes and caps): one
tenant's receivers answer `HTTP/1.1 200 OK\\r\\nX-Drip: ` and then one byte every 2 s — each byte
well inside the read timeout, so only the attempt's deadline ends it — while another tenant's
receiver is healthy. The healthy tenant's events arrive on time (p95 <= 2 s after the commit),
each exactly once; the dribbling receivers get every attempt cut at the deadline, well before the
lease runs out, then retried, never two attempts of one delivery at once, each event delivered
exactly once in the end.

The worker needs the test database in a file (SQLite: set TEST_DB_NAME) or on PostgreSQL."""

import itertools
import socket
import statistics
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest

from tenants.services import tenant_create, tenant_set_status
from tests.waiting import holds
from tests.webhooks.conftest import SETUP, subscribe
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_worker import Workers, started
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = 3.0  # WEBHOOK_ATTEMPT_TIMEOUT
LEASE = 7.0  # WEBHOOK_LEASE_SECONDS: more than twice the deadline, as settings require
DRIPPED_ATTEMPTS = 2  # per delivery; the next attempt is answered at once


@dataclass
class Hit:
    path: str
    message_id: str
    started: float
    ended: float = 0.0
    answered: bool = False


class DripReceiver:
    """Raw TCP: the first DRIPPED_ATTEMPTS requests of each (path, webhook-id) get a status line
    and a header that never ends, one byte every 2 s until the sender hangs up; later ones get a
    plain 200."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.open = 0
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            path, message_id = _read_request(conn)
            hit = Hit(path, message_id, time.monotonic())
            with self.lock:
                self.hits.append(hit)
                earlier = sum(1 for h in self.hits if (h.path, h.message_id) == (path, message_id))
                self.open += 1
            try:
                if earlier <= DRIPPED_ATTEMPTS:
                    self._drip(conn)
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    hit.answered = True
            finally:
                hit.ended = time.monotonic()
                with self.lock:
                    self.open -= 1

    def _drip(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        conn.settimeout(2.0)
        while not self.stopping.is_set():
            try:
                if conn.recv(1) == b"":
                    return  # the sender hung up
            except TimeoutError:
                try:
                    conn.sendall(b"a")
                except OSError:
                    return
            except OSError:
                return

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()


def _read_request(conn: socket.socket) -> tuple[str, str]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0].split(" ")[1], headers.get("webhook-id", "")


def _wait(condition, timeout: float) -> bool:
    return holds(condition, timeout=timeout)


@pytest.fixture
def worker_env():
    from tests.runtime_config.runtime_support import child_database_env

    env = child_database_env()
    if env is None:
        pytest.skip("the test database is in memory; set TEST_DB_NAME to share it")
    env.update(
        WEBHOOK_ALLOW_PRIVATE="true",
        WEBHOOK_CONNECT_TIMEOUT="1",
        WEBHOOK_READ_TIMEOUT="5",  # a byte every 2 s never trips it
        WEBHOOK_ATTEMPT_TIMEOUT=str(DEADLINE),
        WEBHOOK_LEASE_SECONDS=str(LEASE),
        WEBHOOK_RETRY_BASE_SECONDS="0.5",
        WEBHOOK_RETRY_MAX_DELAY_SECONDS="1",
        WEBHOOK_BREAKER_THRESHOLD="100",  # the breaker is another test's subject
        WORKER_RECOVERY_INTERVAL="0.5",  # an expired lease would be handed over at once
        LOG_LEVEL="INFO",
    )
    return env


def test_dribbling_tenant__healthy_tenant_on_time__every_event_exactly_once(
    worker_env, allow_private
):
    workers = Workers(worker_env)
    drip = DripReceiver()
    try:
        with Receiver() as healthy:
            _run(workers, drip, healthy)
    finally:
        workers.stop_all()
        drip.close()


def _run(workers: Workers, drip: DripReceiver, healthy: Receiver) -> None:
    for tenant_id in ("SLOW_TENANT", "HEALTHY_TENANT"):
        tenant_create(principal=SETUP, tenant_id=tenant_id, name=tenant_id)
    events = ["tenant.status_changed"]
    for path in ("/a1", "/a2"):
        subscribe(drip.url(path), events=events, tenant_id="SLOW_TENANT")
    subscribe(healthy.url, events=events, tenant_id="HEALTHY_TENANT")
    process = workers.start(concurrency=4, interval=0.5)  # the defaults of run_worker
    started(process)
    threading.Thread(target=process.stderr.read, daemon=True).start()  # keep its pipe drained

    statuses = ("SUSPENDED", "ACTIVE", "SUSPENDED")
    for status in statuses:  # 3 events x 2 dribbling endpoints
        tenant_set_status(principal=SETUP, tenant_id="SLOW_TENANT", status=status)
    latencies, overlapped = [], 0
    for index in range(12):
        # Commit while a dribbling attempt holds a connection (from the first one on).
        overlapped += _wait(lambda: drip.open > 0, 5)
        status = "SUSPENDED" if index % 2 == 0 else "ACTIVE"
        tenant_set_status(principal=SETUP, tenant_id="HEALTHY_TENANT", status=status)
        committed = time.monotonic()
        assert _wait(lambda i=index: len(healthy.requests) > i, 30), "healthy delivery lost"
        latencies.append(healthy.requests[index].at - committed)
    assert overlapped >= 10, overlapped  # the healthy tenant really ran beside the dribbling one

    assert _wait(lambda: not WebhookDelivery.objects.exclude(status="DELIVERED").exists(), 120)
    workers.stop_all()  # stopped: nothing more can be sent; what arrived is all there is

    p95 = sorted(latencies)[round(0.95 * (len(latencies) - 1))]
    assert p95 <= 2.0, (p95, statistics.median(latencies), latencies)

    healthy_ids = set(
        WebhookEvent.objects.filter(tenant_id="HEALTHY_TENANT").values_list("id", flat=True)
    )
    received = Counter(request.headers["webhook-id"] for request in healthy.requests)
    assert set(received) == healthy_ids and set(received.values()) == {1}

    slow_deliveries = WebhookDelivery.objects.filter(subscription__tenant_id="SLOW_TENANT")
    assert slow_deliveries.count() == len(statuses) * 2
    hits = defaultdict(list)
    for hit in drip.hits:
        hits[(hit.path, hit.message_id)].append(hit)
    for delivery in slow_deliveries.select_related("subscription"):
        path = "/" + delivery.subscription.url.rsplit("/", 1)[1]
        mine = sorted(hits[(path, delivery.event_id)], key=lambda h: h.started)
        attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
        # Every request the receiver saw is one recorded attempt, the last one answered.
        assert len(mine) == len(attempts) == DRIPPED_ATTEMPTS + 1, (mine, attempts)
        assert [h.answered for h in mine] == [False] * DRIPPED_ATTEMPTS + [True]
        assert [a.succeeded for a in attempts] == [False] * DRIPPED_ATTEMPTS + [True]
        for attempt, hit in zip(attempts[:DRIPPED_ATTEMPTS], mine, strict=False):
            assert attempt.error.startswith("deadline"), attempt.error
            # Cut at the deadline, and over well before the lease could run out.
            assert DEADLINE * 1000 <= attempt.duration_ms < LEASE * 1000, attempt.duration_ms
            assert hit.ended - hit.started < LEASE
        # Never two attempts of one delivery at once (no second worker under a live lease).
        for earlier, later in itertools.pairwise(mine):
            assert later.started >= earlier.ended - 0.05, (earlier, later)
    assert not WebhookAttempt.objects.filter(error__contains="worker lost").exists()
