"""Numbers no 64-bit reader accepts are 400 `invalid_number` at every JSON entry point (issue 13
item 5): Python refuses to read integers of more than 4,300 digits, which was a 500 and a
traceback; exponents past the double range overflow to infinity."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit.models import AuditEvent
from packs.models import DomainPack
from tests.ui.conftest import HTMX, browser, demo_active, demo_packs  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
HUGE = "9" * 5_000
SPELLINGS = [HUGE, "-" + HUGE, "1e999999999", "-1e999", "1" + "0" * 400]


def _raw_pack(number: str) -> str:
    return (
        '{"domainName": "Numbers", "exceptionTypes": {"T": {"description": "t"}}, '
        f'"guardrails": {{"humanApprovalThreshold": {number}}}}}'
    )


def _assert_invalid_number(response, path_prefix: str) -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid_number"
    assert body["errors"][0]["path"].startswith(path_prefix)


@pytest.mark.parametrize("number", SPELLINGS)
def test_validate_api__huge_number__400_invalid_number(viewer, number):
    body = f'{{"pack_type": "domain", "content": {_raw_pack(number)}}}'
    response = viewer.client.post("/admin/packs/validate", body, content_type="application/json")
    _assert_invalid_number(response, "/content/guardrails/humanApprovalThreshold")


@pytest.mark.parametrize("number", SPELLINGS[:3])
def test_import_api__huge_number__400_only_the_refusal_recorded(admin, number):
    before = AuditEvent.objects.count()
    body = f'{{"content": {_raw_pack(number)}}}'
    response = admin.client.post(
        "/admin/packs/domain/import", body, content_type="application/json"
    )
    _assert_invalid_number(response, "/content/")
    assert not DomainPack.objects.exists()
    # Issue 15: every refused import is an audit row with its reason, this one too.
    rows = list(AuditEvent.objects.order_by("id")[before:].values_list("action", "details"))
    assert [(action, details["reason"]) for action, details in rows] == [
        ("pack.import_rejected", "invalid_number")
    ]


@pytest.mark.parametrize("number", SPELLINGS[:3])
def test_evaluate_api__huge_number_in_payload__400_invalid_number(admin, number):
    body = f'{{"tenant_id": "TENANT_X", "exception_type": "T", "payload": {{"n": {number}}}}}'
    response = admin.client.post("/ops/exceptions/evaluate", body, content_type="application/json")
    _assert_invalid_number(response, "/payload/n")


@pytest.mark.usefixtures("demo_active")
@pytest.mark.parametrize("number", SPELLINGS[:3])
def test_evaluate_page__huge_number_in_payload__400_invalid_number(admin, number):
    response = browser(admin).post(
        "/ops/exceptions/evaluate",
        {
            "tenant_id": "TENANT_FINANCE_001",
            "exception_type": "SETTLEMENT_FAIL",
            "payload": f'{{"n": [{number}]}}',
        },
        **HTMX,
    )
    # The page door answers its error fragment, not problem+json.
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"invalid_number" in response.content
    assert b"/payload/n/0" in response.content


@pytest.mark.parametrize("number", SPELLINGS[:3])
def test_validate_page__huge_number_pasted__400_invalid_number(viewer, number):
    response = browser(viewer).post(
        "/admin/packs/validate", {"pack_type": "domain", "content": _raw_pack(number)}, **HTMX
    )
    assert response.status_code == 400
    assert b"invalid_number" in response.content


def test_import_page__huge_number_uploaded__400_nothing_written(admin, tmp_path):
    path = tmp_path / "pack.json"
    path.write_text(_raw_pack(HUGE))
    with path.open("rb") as upload:
        response = browser(admin).post("/admin/packs/domain/import", {"file": upload}, **HTMX)
    assert response.status_code == 400
    assert b"invalid_number" in response.content
    assert not DomainPack.objects.exists()


def _manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.mark.parametrize("number", [HUGE, "1e999999999"])
def test_validate_pack_command__huge_number__exit_2_problem_json(tmp_path, number):
    path = tmp_path / "pack.json"
    path.write_text(_raw_pack(number))
    done = _manage("validate_pack", str(path))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    problem = json.loads(done.stdout)
    assert problem["code"] == "invalid_number"
    assert problem["errors"][0]["path"] == "/guardrails/humanApprovalThreshold"


@pytest.mark.django_db
def test_import_packs_command__huge_number__file_rejected_exit_1(tmp_path):
    from django.core.management import CommandError, call_command

    (tmp_path / "pack.json").write_text(_raw_pack(HUGE))
    with pytest.raises(CommandError) as caught:
        call_command("import_packs", str(tmp_path))
    assert caught.value.returncode == 1
    assert not DomainPack.objects.exists()
