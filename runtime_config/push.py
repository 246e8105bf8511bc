"""Push propagation (DESIGN §14): a change publishes a message, and a listener thread in every
serving process drops what it names, within milliseconds instead of a poll interval.

Channel: PostgreSQL `NOTIFY runtime_config` when the database is PostgreSQL, or Redis pub/sub on
`runtime_config:<db>` when CACHE_URL is Redis (pub/sub ignores database numbers, so the number is
part of the channel name). On SQLite there is no channel: the generation poll is the only path.

The PostgreSQL notification is sent inside the change's own transaction, so it is delivered by
the commit itself and never for a rollback. A Redis message is published right after the commit;
when that fails the generation bump is marked as unpushed and every listener clears on its poll.

The listener thread starts lazily, on the first configuration lookup of a process, and once per
process: a forked child (gunicorn's pre-fork model) starts its own, because threads do not
survive a fork and the parent's connection must not be shared. It holds its own connection,
reconnects with a back-off after the database or Redis restarts, and after any gap clears every
cached entry (a message sent while it was away is lost). Between messages it polls the shared
generation (the fallback) and checks that its connection is alive; a second thread writes the
convergence heartbeat, so that a slow commit never holds a message back. A tenant dropped by a
message is reloaded by the thread at once, so the process serves the new revision before its next
request asks for it."""

import atexit
import contextlib
import gc
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlparse

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction

from onboarding import metrics
from onboarding.errors import ServiceError
from runtime_config import cache, convergence
from runtime_config.models import TenantActiveConfig

log = logging.getLogger(__name__)
CHANNEL = "runtime_config"
RETRY_MIN, RETRY_MAX = 0.2, 5.0
LIVENESS_EVERY = 5.0  # seconds between checks that the listening connection is alive
WARNING_EVERY = 60.0
# Options a Django DATABASES entry may carry that are not libpq connection parameters.
_NOT_LIBPQ = {"isolation_level", "server_side_binding", "pool", "assume_role", "cursor_factory"}


def mode() -> str:
    """`redis`, `postgres` or `poll` (no push channel)."""
    if settings.CACHE_URL:
        return "redis"
    if connections["default"].vendor == "postgresql":
        return "postgres"
    return "poll"


def redis_channel() -> str:
    database = urlparse(settings.CACHE_URL).path.strip("/") or "0"
    return f"{CHANNEL}:{database}"


# --- publishing --------------------------------------------------------------------------------


def bump_generation_on_commit(message: str = "*") -> None:
    """After the current transaction commits, every process forgets what `message` names
    (`<tenant>:<revision>`, `*` for everything, `!auth` for cached principals): by push at once
    where a channel exists, by the generation poll otherwise."""
    notify_in_transaction(message)  # PostgreSQL: delivered by the commit itself

    def after_commit() -> None:
        cache.bump_generation(message, pushed=publish_after_commit(message))

    transaction.on_commit(after_commit)


def publish_tenant_change(tenant_id: str, revision: int | None = None) -> None:
    """A change of what one tenant runs without a new revision (suspension, reactivation):
    `<tenant>:<current revision>` on commit."""
    if revision is None:
        revision = (
            TenantActiveConfig.objects.filter(tenant_id=tenant_id)
            .values_list("revision", flat=True)
            .first()
        ) or 0
    bump_generation_on_commit(f"{tenant_id}:{revision}")


def bump_generation_on_commit_many(messages: list[str]) -> None:
    """`bump_generation_on_commit` for a batch (a rollout's wave): every message is pushed (one
    NOTIFY statement for all on PostgreSQL), and the shared generation is bumped once."""
    if not messages:
        return
    if mode() == "postgres":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_notify(%s, message) FROM unnest(%s::text[]) AS message",
                [CHANNEL, messages],
            )

    def after_commit() -> None:
        pushed = all([publish_after_commit(message) for message in messages])
        for message in messages[:-1]:
            cache.apply_message(message)
        cache.bump_generation(messages[-1], pushed=pushed)

    transaction.on_commit(after_commit)


def notify_in_transaction(message: str) -> None:
    if mode() == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, message])


_publisher: dict[int, object] = {}


def publish_after_commit(message: str) -> bool:
    """True when every listener got (or gets) the message: the generation poll may skip it."""
    kind = mode()
    if kind == "postgres":
        return True
    if kind != "redis":
        return False
    try:
        client = _publisher.get(os.getpid())
        if client is None:
            client = _publisher[os.getpid()] = _redis_client(timeout=0.5)
        client.publish(redis_channel(), message)
    except Exception as exc:
        log.warning(
            "runtime change %r could not be published (%s); processes poll for it", message, exc
        )
        return False
    return True


def _redis_client(*, timeout: float | None, name: str | None = None):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No silent retries: a reconnect must be seen, since messages sent meanwhile are lost.
    return redis.Redis.from_url(
        settings.CACHE_URL,
        socket_connect_timeout=1.0,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
        client_name=name,
    )


# --- channels ----------------------------------------------------------------------------------


class Gap(Exception):
    """The channel reconnected underneath us: messages may have been lost."""


class PostgresChannel:
    def __init__(self):
        import psycopg

        params = dict(connection.settings_dict.get("OPTIONS") or {})
        for key in _NOT_LIBPQ:
            params.pop(key, None)
        settings_dict = connection.settings_dict
        params.update(
            dbname=settings_dict["NAME"],
            user=settings_dict.get("USER") or None,
            password=settings_dict.get("PASSWORD") or None,
            host=settings_dict.get("HOST") or None,
            port=settings_dict.get("PORT") or None,
        )
        params = {key: value for key, value in params.items() if value is not None}
        params["application_name"] = "runtime-config-listener"
        params.setdefault("connect_timeout", 3)
        # A silently dead peer (no reset) is noticed by the liveness query; keepalives too.
        for key, value in (("keepalives", 1), ("keepalives_idle", 10)):
            params.setdefault(key, value)
        params.setdefault("keepalives_interval", 3)
        params.setdefault("keepalives_count", 3)
        self.conn = psycopg.connect(autocommit=True, **params)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float, handle: Callable[[str], None]) -> None:
        for notify in self.conn.notifies(timeout=max(timeout, 0.0)):
            handle(notify.payload)

    def ping(self) -> None:
        self.conn.execute("SELECT 1")

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already broken: nothing more to release
            self.conn.close()


class RedisChannel:
    def __init__(self):
        self.client = _redis_client(timeout=None, name=f"runtime-config-listener-{os.getpid()}")
        self.pubsub = _counting_pubsub(self.client)
        self.pubsub.subscribe(redis_channel())
        self.pubsub.get_message(timeout=1.0)  # the subscribe confirmation: we are listening

    def wait(self, timeout: float, handle: Callable[[str], None]) -> None:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            message = self.pubsub.get_message(timeout=max(deadline - time.monotonic(), 0.0))
            if self.pubsub.connects > 1:
                raise Gap("the Redis subscription reconnected")
            if message and message.get("type") == "message":
                data = message["data"]
                handle(data.decode() if isinstance(data, bytes) else str(data))
            if time.monotonic() >= deadline:
                return

    def ping(self) -> None:
        self.client.ping()
        self.pubsub.ping()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already broken: nothing more to release
            self.pubsub.close()
            self.client.close()


def _counting_pubsub(client):
    from redis.client import PubSub

    class CountingPubSub(PubSub):
        """Counts (re)connections: redis-py re-subscribes silently, we must know."""

        connects = 0

        def on_connect(self, connection):
            self.connects += 1
            return super().on_connect(connection)

    return CountingPubSub(client.connection_pool, ignore_subscribe_messages=True)


def open_channel():
    kind = mode()
    if kind == "postgres":
        return PostgresChannel()
    if kind == "redis":
        return RedisChannel()
    return None


# --- the listener thread -----------------------------------------------------------------------


class Listener:
    def __init__(self):
        self.pid = os.getpid()
        self.host = socket.gethostname()[:255]
        self.process_id = f"{self.host[:40]}:{self.pid}:{secrets.token_hex(3)}"
        self.last_tick = time.monotonic()
        self.connected = False
        self.channel_epoch = 0  # +1 per successful (re)connect
        self.reconnects = 0
        self.received = 0
        self._polled_epoch: int | None = None
        self._next_poll = 0.0
        self._next_ping = 0.0
        self._last_warning = -WARNING_EVERY
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="runtime-config-listener", daemon=True)
        # Heartbeats write to the database: in a thread of their own, so that a slow commit never
        # holds a message back.
        self.beat_thread = threading.Thread(
            target=self.beat, name="runtime-config-heartbeat", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        self.beat_thread.start()

    def beat(self) -> None:
        while not self.stop.is_set():
            self._heartbeat()
            self.stop.wait(settings.RUNTIME_HEARTBEAT_INTERVAL)
        _close_thread_connections()

    def healthy(self, now: float) -> bool:
        stale_after = max(3 * settings.RUNTIME_CONFIG_CHECK_INTERVAL, 5.0)
        return self.thread.is_alive() and now - self.last_tick < stale_after

    def run(self) -> None:
        delay = RETRY_MIN
        while not self.stop.is_set():
            try:
                channel = open_channel()
            except Exception as exc:
                self._warn("runtime push channel unreachable (%s); polling until it is back", exc)
                self._serve(None, time.monotonic() + delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            if channel is None:
                self._serve(None, float("inf"))
                continue
            if self.channel_epoch:
                self.reconnects += 1
                metrics.LISTENER_RECONNECTS.inc()
                log.warning("runtime push channel reconnected; cached configurations dropped")
            delay = RETRY_MIN
            self.channel_epoch += 1
            self.connected = True
            cache.clear_local()  # whatever was published while we were away is lost
            try:
                self._serve(channel, float("inf"))
            except Exception as exc:
                self._warn("runtime push channel lost (%s); reconnecting", exc)
            finally:
                self.connected = False
                channel.close()
        _close_thread_connections()

    def _serve(self, channel, until: float) -> None:
        interval = max(settings.RUNTIME_CONFIG_CHECK_INTERVAL, 0.05)
        while not self.stop.is_set():
            now = time.monotonic()
            self.last_tick = now
            if now >= until:
                return
            if now >= self._next_poll:
                self._next_poll = now + interval
                self._poll(now)
            if channel is not None and now >= self._next_ping:
                self._next_ping = now + LIVENESS_EVERY
                channel.ping()
            timeout = min(self._next_poll, until) - time.monotonic()
            if channel is None:
                self.stop.wait(max(timeout, 0.0))
            else:
                channel.wait(min(timeout, interval), self.handle)

    def handle(self, message: str) -> None:
        self.received += 1
        tenant_id, sep, _ = message.partition(":")
        if message.startswith(("!", "*")) or not sep:
            cache.apply_message(message)
            return
        # Reload what this process served, also when its own commit dropped it already.
        if cache.drop(tenant_id) or convergence.was_reported(tenant_id):
            self._reload(tenant_id)

    def _reload(self, tenant_id: str) -> None:
        try:
            _reloader[0](tenant_id)
        except ServiceError:
            pass  # the refusal is cached like a configuration
        except Exception as exc:  # the next request loads it; this thread must live on
            _close_thread_connections()
            self._warn("runtime reload of %s failed (%s)", tenant_id, exc)

    def _poll(self, now: float) -> None:
        continuous = self.connected and self._polled_epoch == self.channel_epoch
        cache.check_generation(now, push_continuous=continuous)  # never raises
        self._polled_epoch = self.channel_epoch if self.connected else None

    def _heartbeat(self) -> None:
        try:
            convergence.report(self)
        except Exception as exc:  # convergence is informative: serving goes on without it
            if isinstance(exc, DatabaseError):
                _close_thread_connections()
            convergence.forget_reported()
            self._warn("runtime heartbeat not written (%s)", exc)

    def _warn(self, text: str, *args) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARNING_EVERY:
            self._last_warning = now
            log.warning(text, *args)


def _close_thread_connections() -> None:
    for conn in connections.all(initialized_only=True):
        with contextlib.suppress(Exception):  # a broken connection is dropped all the same
            conn.close()


_listener: Listener | None = None
_start_lock = threading.Lock()
# Listeners inherited through fork: kept referenced so that collecting them never closes the
# parent's sockets from the child.
_inherited: list[Listener] = []


def current() -> Listener | None:
    listener = _listener
    return listener if listener is not None and listener.pid == os.getpid() else None


def listener_healthy(now: float) -> bool:
    listener = current()
    return listener is not None and listener.healthy(now)


def tick(now: float) -> None:
    """The request path's periodic check: nothing to read while the listener thread keeps the
    cache current, else read the shared generation here."""
    if listener_healthy(now):
        cache.state.next_check = now + settings.RUNTIME_CONFIG_CHECK_INTERVAL
        return
    ensure_listener()
    cache.check_generation(now)


# How the listener reloads a tenant a message dropped: runtime.py's loader, handed over from
# RuntimeConfigConfig.ready. Until then a dropped tenant is loaded by its next request.
_reloader: list[Callable[[str], object]] = [lambda tenant_id: None]


def reload_dropped_with(load: Callable[[str], object]) -> None:
    _reloader[0] = load


def ensure_listener() -> None:
    """Start this process's listener thread if settings allow and it is not running."""
    global _listener
    if not settings.RUNTIME_LISTENER:
        return
    listener = current()
    if listener is not None and listener.thread.is_alive():
        return
    with _start_lock:
        listener = current()
        if listener is not None and listener.thread.is_alive():
            return
        # Everything imported so far lives as long as the process: out of the collector's
        # sight, a full collection takes a few milliseconds instead of ~100 ms (seen as the
        # tail of the propagation benchmark).
        gc.freeze()
        _listener = Listener()
        _listener.start()


def stop_listener(timeout: float = 5.0) -> None:
    """Stop this process's listener (tests)."""
    global _listener
    listener = current()
    if listener is None:
        return
    listener.stop.set()
    listener.thread.join(timeout)
    listener.beat_thread.join(timeout)
    _listener = None


def _deregister_at_exit() -> None:
    """atexit (inherited by forked workers, run on their normal exit, SIGTERM included): stop
    the heartbeat, then remove this process from the convergence rows."""
    listener = current()
    if listener is None:
        return
    listener.stop.set()
    listener.beat_thread.join(2.0)  # a beat in flight would write the row back
    try:
        convergence.deregister(listener)
    except Exception as exc:  # exiting anyway: the row then drops out after its silence
        log.warning("runtime process not deregistered at exit (%s)", exc)
    finally:
        _close_thread_connections()


atexit.register(_deregister_at_exit)


def _after_fork_in_child() -> None:
    global _listener, _start_lock
    if _listener is not None:
        _inherited.append(_listener)
    _listener = None
    _start_lock = threading.Lock()
    cache.reset_after_fork()
    convergence.reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
