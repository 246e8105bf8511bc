"""Bodies sent without Content-Length (`Transfer-Encoding: chunked`, issue 13 item 9).

Django alone reads such a body as empty. `onboarding.middleware.ChunkedInput` wraps the WSGI
application: it reads the body when the server ends the stream itself (gunicorn), answers 413
above the limit and 411 when the server cannot end the stream (Django's development server)."""

import http.client
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from bench.common import Gunicorn
from onboarding.middleware import ChunkedInput, body_limit
from tests.conftest import load_reference

ROOT = Path(__file__).resolve().parent.parent


def _seen_by_app(environ_extra: dict, body: bytes):
    """Run ChunkedInput around an app that records what Django would read."""
    seen = {}

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen["body"] = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    statuses = []
    environ = {
        "REQUEST_METHOD": "POST",
        "wsgi.input": io.BytesIO(body),
        "HTTP_TRANSFER_ENCODING": "chunked",
        **environ_extra,
    }
    content = b"".join(ChunkedInput(app)(environ, lambda s, h: statuses.append((s, dict(h)))))
    return statuses[0], content, seen


def test_chunked__terminated_input__read_whole_with_its_length():
    (status, _), _, seen = _seen_by_app({"wsgi.input_terminated": True}, b'{"a": 1}')
    assert status.startswith("200")
    assert seen["body"] == b'{"a": 1}'


@override_settings(PACK_MAX_BYTES=1024)
def test_chunked__over_the_limit__413_too_large_and_app_never_called():
    body = b"x" * (body_limit() + 1)
    (status, headers), content, seen = _seen_by_app({"wsgi.input_terminated": True}, body)
    assert status.startswith("413")
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(content)["code"] == "too_large"
    assert seen == {}


def test_chunked__server_cannot_end_the_stream__411_length_required():
    (status, _), content, seen = _seen_by_app({}, b'{"a": 1}')
    assert status.startswith("411")
    assert json.loads(content)["code"] == "length_required"
    assert seen == {}


def test_content_length__passes_through_untouched():
    (status, _), _, seen = _seen_by_app({"CONTENT_LENGTH": "3"}, b"abcdef")
    assert status.startswith("200")
    assert seen["body"] == b"abc"


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """gunicorn on a database of its own (a SQLite file: the chunked body is a matter of the
    WSGI layer, the same for either database), with an ADMIN token."""
    path = tmp_path_factory.mktemp("chunked") / "db.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "TEST_DB_NAME", "CACHE_URL")
    }
    env.update(SQLITE_PATH=str(path), PACK_MAX_BYTES="1024", DEBUG="false")

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    manage("migrate", "--noinput")
    token = manage("issue_token", "chunky", "--role", "ADMIN")
    with Gunicorn(env, workers=1) as server:
        yield server, token


def _post_chunked(server, token: str, chunks: list[bytes]) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/admin/packs/validate",
            body=iter(chunks),
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_gunicorn__chunked_body__read_and_validated(gunicorn):
    server, token = gunicorn
    content = load_reference("domain_capital_markets.json")
    body = json.dumps({"pack_type": "domain", "content": {"domainName": content["domainName"]}})
    raw = body.encode()
    status, answer = _post_chunked(server, token, [raw[:10], raw[10:50], raw[50:]])
    assert status == 200, answer
    assert "valid" in answer


def test_gunicorn__chunked_body_over_the_limit__413(gunicorn):
    server, token = gunicorn
    chunk = b" " * (64 * 1024)
    count = 1024 * 1024 // len(chunk) // 2 + 1  # above PACK_MAX_BYTES plus the 256 KiB envelope
    status, answer = _post_chunked(server, token, [b'{"pack_type": "domain"', *[chunk] * count])
    assert status == 413
    assert answer["code"] == "too_large"
