"""One HTTP POST of a signed webhook to a checked address.

The host is resolved here, every address is checked (webhooks.targets), and the connection goes
to the checked address itself, with the original name in the Host header, the TLS SNI and the
certificate check. Nothing else is resolved later, redirects are never followed, proxies from
the environment are never used, and at most RESPONSE_EXCERPT_BYTES of the answer are read.

Time: connect and read timeouts bound each socket operation, and a `Deadline` bounds the whole
attempt (WEBHOOK_ATTEMPT_TIMEOUT): when it passes, the attempt's socket is shut down, which ends
whatever read, write or TLS handshake is blocked on it. A receiver that sends its status line and
then one byte every second cannot hold a worker past the deadline, nor past its lease."""

import contextlib
import socket
import threading
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from onboarding.redaction import redact_text
from webhooks.targets import Target, TargetRefused, resolve

RESPONSE_EXCERPT_BYTES = 2048
USER_AGENT = "pack-onboarding-webhooks/1"
_CHUNK = 1024


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""
    remote_ip: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


class Deadline:
    """A wall-clock limit no peer can stretch: when it passes, every socket registered with
    `watch` is shut down (both directions), so any call blocked on it returns at once."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self._at - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: the blocked SSL read in the other thread
    # sees the end of the stream, and the TLS object stays intact for it. Closed already: fine.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watched:
    """A connection whose socket is handed to the attempt's Deadline as soon as it exists (before
    the TLS handshake)."""

    def __init__(self, *args, deadline: Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def _new_conn(self):
        sock = super()._new_conn()
        self._deadline.watch(sock)
        return sock


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


def post(
    target: Target, body: bytes, headers: dict[str, str], *, deadline: float | None = None
) -> SendResult:
    """Send once; never longer than `deadline` seconds (WEBHOOK_ATTEMPT_TIMEOUT by default)."""
    started = time.monotonic()
    limit = Deadline(settings.WEBHOOK_ATTEMPT_TIMEOUT if deadline is None else deadline)
    try:
        return _post(target, body, headers, started, limit)
    finally:
        limit.cancel()


def _post(
    target: Target, body: bytes, headers: dict[str, str], started: float, limit: Deadline
) -> SendResult:
    connect_timeout = min(settings.WEBHOOK_CONNECT_TIMEOUT, limit.remaining())
    read_timeout = settings.WEBHOOK_READ_TIMEOUT
    try:
        addresses = resolve(target, timeout=connect_timeout)
    except TargetRefused as exc:
        return SendResult(None, _elapsed_ms(started), error=f"refused: {exc}")
    remote_ip = addresses[0]
    timeout = urllib3.Timeout(connect=max(0.01, connect_timeout), read=read_timeout)
    pool = _pool(target, remote_ip, timeout, limit)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={
                "Host": target.host_header,
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
                "Accept-Encoding": "identity",
                **headers,
            },
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
        )
        if limit.expired:
            # The status line and headers were not complete in time; whatever was parsed from
            # the cut stream is no answer.
            response.release_conn()
            return _failed(started, remote_ip, _deadline_error(limit))
        try:
            excerpt = _read_excerpt(response, limit)
        finally:
            response.release_conn()
    except (HTTPError, OSError) as exc:
        return _failed(started, remote_ip, _error_text(exc, limit))
    finally:
        pool.close()
    status = response.status
    error = ""
    if 300 <= status < 400:
        error = "redirect not followed" + (
            f" (Location: {redact_text(response.headers['Location'])[:200]})"
            if "Location" in response.headers
            else ""
        )
    return SendResult(status, _elapsed_ms(started), error, excerpt, remote_ip)


def _error_text(exc: BaseException, limit: Deadline) -> str:
    if limit.expired:
        return _deadline_error(limit)
    if isinstance(exc, ReadTimeoutError):
        return f"read timeout after {settings.WEBHOOK_READ_TIMEOUT:g} s"
    if isinstance(exc, SSLError):
        return f"TLS error: {_reason(exc)}"
    if isinstance(exc, NewConnectionError):
        # Before ConnectTimeoutError: urllib3 makes NewConnectionError a subclass of it.
        return f"connection failed: {_reason(exc)}"
    if isinstance(exc, ConnectTimeoutError):
        return f"connect timeout after {settings.WEBHOOK_CONNECT_TIMEOUT:g} s"
    return f"{type(exc).__name__}: {_reason(exc)}"


def _deadline_error(limit: Deadline) -> str:
    return (
        f"deadline: no complete answer within {limit.seconds:g} s (WEBHOOK_ATTEMPT_TIMEOUT); "
        "the connection was cut"
    )


def _pool(target: Target, remote_ip: str, timeout: urllib3.Timeout, limit: Deadline):
    common = {
        "port": target.port,
        "timeout": timeout,
        "retries": False,
        "maxsize": 1,
        "deadline": limit,  # passed on to the connection class
    }
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            remote_ip,
            cert_reqs="CERT_REQUIRED",
            # Certificate and SNI are those of the name in the URL, not of the address.
            assert_hostname=target.host,
            server_hostname=None if target.is_ip_literal else target.host,
            **common,
        )
        pool.ConnectionCls = _WatchedHTTPSConnection
        return pool
    pool = urllib3.HTTPConnectionPool(remote_ip, **common)
    pool.ConnectionCls = _WatchedHTTPConnection
    return pool


def _read_excerpt(response, limit: Deadline) -> str:
    """At most RESPONSE_EXCERPT_BYTES, and no later than the deadline: the status is the answer,
    the body only an excerpt for the delivery log, cut where the deadline finds it."""
    chunks: list[bytes] = []
    size = 0
    while size < RESPONSE_EXCERPT_BYTES and not limit.expired:
        try:
            # read1: whatever one receive brings.
            chunk = response.read1(min(_CHUNK, RESPONSE_EXCERPT_BYTES - size))
        except (HTTPError, OSError):
            if limit.expired:
                break
            raise
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    # PostgreSQL text cannot hold NUL.
    return b"".join(chunks).decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _failed(started: float, remote_ip: str, error: str) -> SendResult:
    return SendResult(
        None, _elapsed_ms(started), error=redact_text(error)[:500], remote_ip=remote_ip
    )


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason)[:300]


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))
