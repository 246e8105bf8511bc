"""Structured logs (LOG_FORMAT=json): one JSON object per request line, carrying the request id
the response had, its principal, tenant, route, status and duration, with the redaction filter
still applied; one record per finished worker task."""

import json
import logging

import pytest
from django_tasks import task

from bench.common import Client, Gunicorn
from onboarding.worker import drain
from tests.conftest import make_actor
from tests.runtime_config.runtime_support import child_database_env
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def json_lines(path) -> list[dict]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # gunicorn's own lines
    return lines


def wait_for_line(path, predicate, timeout: float = 10.0) -> dict:
    found = wait_until(
        lambda: [line for line in json_lines(path) if predicate(line)],
        timeout=timeout,
        interval=0.05,
        message=f"a matching log line in {path}",
    )
    return found[0]


@pytest.fixture
def json_server(tmp_path):
    env = child_database_env()
    if env is None:
        pytest.skip("the test database is in memory; set TEST_DB_NAME to share it")
    env.update(LOG_FORMAT="json", LOG_LEVEL="INFO", DEBUG="false")
    log_path = tmp_path / "server.log"
    with Gunicorn(env, workers=1, log_path=log_path) as server:
        server.log_file = log_path
        yield server


def test_json_logs__request__one_line_with_the_response_request_id(json_server, tenant_a):
    owner = make_actor("log-owner", "ADMIN", tenant_a)
    response = Client(json_server.base, owner.token).get(f"/admin/tenants/{tenant_a.tenant_id}")
    assert response.status == 200
    request_id = response.headers["x-request-id"]
    line = wait_for_line(json_server.log_file, lambda line: line.get("request_id") == request_id)
    assert line["logger"] == "onboarding.request"
    assert line["principal"] == "log-owner"
    assert line["tenant"] == tenant_a.tenant_id
    assert line["route"] == "admin/tenants/<str:tenant_id>"
    assert (line["method"], line["status"]) == ("GET", 200)
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"]


def test_json_logs__secret_looking_path__redacted_in_the_line(json_server):
    secret = "xoxb1234567890abcdefghijklmnop"
    response = Client(json_server.base).get(
        f"/hooks/{secret}", headers={"X-Request-ID": "redaction-check-1"}
    )
    assert response.status == 404
    line = wait_for_line(
        json_server.log_file, lambda line: line.get("request_id") == "redaction-check-1"
    )
    assert secret not in json.dumps(line)
    assert line["path"] == "/hooks/***" and line["route"] == "(unmatched)"


@task(queue_name="default")
def noted_task(value: int) -> int:
    return value * 2


def test_task_log__finished_task__one_record_with_its_fields(caplog):
    result = noted_task.enqueue(21)
    with caplog.at_level(logging.INFO, logger="onboarding.task"):
        drain(queues=("default",))
    records = [r for r in caplog.records if r.name == "onboarding.task"]
    assert len(records) == 1
    record = records[0]
    assert record.task_id == str(result.id)
    assert record.task.endswith("noted_task") and record.queue == "default"
    assert record.status == "SUCCESSFUL" and record.duration_ms >= 0
