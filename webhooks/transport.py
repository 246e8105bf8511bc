"""One HTTP POST of a signed webhook to a checked address.

The host is resolved here, every address is checked (webhooks.targets), and the connection goes
to the checked address itself, with the original name in the Host header, the TLS SNI and the
certificate check. Nothing else is resolved later, redirects are never followed, proxies from
the environment are never used, and connect, read and the whole exchange have time limits; at
most RESPONSE_EXCERPT_BYTES of the answer are read."""

import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

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


def post(target: Target, body: bytes, headers: dict[str, str]) -> SendResult:
    started = time.monotonic()
    connect_timeout = settings.WEBHOOK_CONNECT_TIMEOUT
    read_timeout = settings.WEBHOOK_READ_TIMEOUT
    try:
        addresses = resolve(target, timeout=connect_timeout)
    except TargetRefused as exc:
        return SendResult(None, _elapsed_ms(started), error=f"refused: {exc}")
    remote_ip = addresses[0]
    pool = _pool(target, remote_ip, urllib3.Timeout(connect=connect_timeout, read=read_timeout))
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
        try:
            excerpt = _read_excerpt(response, started + connect_timeout + read_timeout)
        finally:
            response.release_conn()
    except ReadTimeoutError:
        return _failed(started, remote_ip, f"read timeout after {read_timeout:g} s")
    except SSLError as exc:
        return _failed(started, remote_ip, f"TLS error: {_reason(exc)}")
    except NewConnectionError as exc:
        # Before ConnectTimeoutError: urllib3 makes NewConnectionError a subclass of it.
        return _failed(started, remote_ip, f"connection failed: {_reason(exc)}")
    except ConnectTimeoutError:
        return _failed(started, remote_ip, f"connect timeout after {connect_timeout:g} s")
    except (HTTPError, OSError) as exc:
        return _failed(started, remote_ip, f"{type(exc).__name__}: {_reason(exc)}")
    finally:
        pool.close()
    status = response.status
    error = ""
    if 300 <= status < 400:
        error = "redirect not followed" + (
            f" (Location: {response.headers['Location'][:200]})"
            if "Location" in response.headers
            else ""
        )
    return SendResult(status, _elapsed_ms(started), error, excerpt, remote_ip)


def _pool(target: Target, remote_ip: str, timeout: urllib3.Timeout):
    common = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1}
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            remote_ip,
            cert_reqs="CERT_REQUIRED",
            # Certificate and SNI are those of the name in the URL, not of the address.
            assert_hostname=target.host,
            server_hostname=None if target.is_ip_literal else target.host,
            **common,
        )
    return urllib3.HTTPConnectionPool(remote_ip, **common)


def _read_excerpt(response, deadline: float) -> str:
    """At most RESPONSE_EXCERPT_BYTES, and no later than the deadline: a receiver that drips
    its answer byte by byte cannot hold the worker."""
    chunks: list[bytes] = []
    size = 0
    while size < RESPONSE_EXCERPT_BYTES and time.monotonic() < deadline:
        # read1: whatever one receive brings, so a trickle cannot hold the loop past the deadline.
        chunk = response.read1(min(_CHUNK, RESPONSE_EXCERPT_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    # PostgreSQL text cannot hold NUL.
    return b"".join(chunks).decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _failed(started: float, remote_ip: str, error: str) -> SendResult:
    return SendResult(None, _elapsed_ms(started), error=error[:500], remote_ip=remote_ip)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason)[:300]


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))
