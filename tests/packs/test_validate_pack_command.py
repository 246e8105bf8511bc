"""`python manage.py validate_pack`: the report as JSON on stdout, exit 0 valid, 1 invalid,
2 unreadable or not JSON."""

import io
import json

import pytest
from django.core.management import call_command

from packs.services import domain_pack_create
from tenants.principals import Principal
from tests.conftest import REFERENCE, load_reference
from tests.db_state import db_state


def run(*args) -> tuple[int, dict]:
    out = io.StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command("validate_pack", *[str(arg) for arg in args], stdout=out)
    return caught.value.code, json.loads(out.getvalue())


@pytest.fixture
def stored_domains(db):
    system = Principal.system("test")
    domain_pack_create(
        principal=system,
        domain="CapitalMarketsTrading",
        version="v3.2",
        content=load_reference("domain_capital_markets.json"),
    )
    domain_pack_create(
        principal=system,
        domain="CapitalMarketsTrading",
        version="v4.0",
        content=load_reference("domain_capital_markets_acme.json"),
    )


def test_validate_pack__finance_domain__exit_0_with_self_test_warning():
    code, report = run(REFERENCE / "domain_capital_markets.json")
    assert code == 0
    assert report["pack_type"] == "domain" and report["valid"] is True
    assert [(w["code"], w["path"]) for w in report["warnings"]] == [
        ("self_test_failed", "/testSuites/0")
    ]


def test_validate_pack__acme_domain__exit_0():
    code, report = run(REFERENCE / "domain_capital_markets_acme.json")
    assert (code, report["valid"], report["errors"], report["warnings"]) == (0, True, [], [])


def test_validate_pack__healthcare_legacy__exit_1_with_pointers():
    code, report = run(REFERENCE / "domain_healthcare_legacy.json")
    assert code == 1 and report["valid"] is False
    paths = {(e["code"], e["path"]) for e in report["errors"]}
    assert ("unsupported_key", "/severityRules/0/if") in paths
    assert ("missing_required", "/playbooks/0/exceptionType") in paths
    assert ("wrong_type", "/playbooks/0/steps/0") in paths


def test_validate_pack__tenant_legacy__detected_as_tenant_exit_1(db):
    code, report = run(REFERENCE / "tenant_healthcare_042_legacy.json")
    assert code == 1 and report["pack_type"] == "tenant"
    assert ("missing_required", "/domainName") in {(e["code"], e["path"]) for e in report["errors"]}


def test_validate_pack__finance_tenant_against_named_version__exit_0(stored_domains):
    code, report = run(REFERENCE / "tenant_finance_001.json", "--domain-version", "v3.2")
    assert code == 0
    assert report["checked_against"] == {"domain": "CapitalMarketsTrading", "version": "v3.2"}


def test_validate_pack__finance_tenant_against_newest__acme_incompatible_exit_1(stored_domains):
    code, report = run(REFERENCE / "tenant_finance_001.json")
    assert code == 1
    assert report["checked_against"] == {"domain": "CapitalMarketsTrading", "version": "v4.0"}
    paths = [e["path"] for e in report["errors"]]
    assert "/approvedTools/0" in paths and "/customSeverityOverrides/1/exceptionType" in paths


def test_validate_pack__finance_tenant_no_domain_in_database__schema_only_exit_0(db):
    code, report = run(REFERENCE / "tenant_finance_001.json")
    assert (code, report["checked_against"]) == (0, None)


def test_validate_pack__unknown_domain_version__exit_2_problem(stored_domains):
    code, problem = run(REFERENCE / "tenant_finance_001.json", "--domain-version", "v9.9")
    assert (code, problem["code"]) == (2, "domain_pack_not_found")


def test_validate_pack__type_forced__domain_checks_applied(db):
    code, report = run(REFERENCE / "tenant_finance_001.json", "--type", "domain")
    assert code == 1 and report["pack_type"] == "domain"


def test_validate_pack__missing_file__exit_2(tmp_path):
    code, problem = run(tmp_path / "absent.json")
    assert (code, problem["code"]) == (2, "unreadable")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"domainName": "x",', "malformed_json"),
        (b'{"a": 1, "a": 2}', "duplicate_key"),
        (b"[1, 2]", "not_an_object"),
        (b'{"a": NaN}', "invalid_number"),
    ],
)
def test_validate_pack__not_json__exit_2_with_problem(tmp_path, data, expected):
    path = tmp_path / "pack.json"
    path.write_bytes(data)
    code, problem = run(path)
    assert (code, problem["code"]) == (2, expected)
    assert problem["errors"][0]["code"] == expected


# --- issue 25 item 9: checked against no domain pack ----------------------------------------


@pytest.mark.django_db
def test_validate_pack__tenant_pack_whose_domain_has_no_domain_pack__valid_with_warning_naming_it():
    """`valid: true` and nothing else hid that no reference to the domain was checked."""
    code, report = run(REFERENCE / "tenant_finance_001.json")
    assert code == 0 and report["valid"] is True and report["checked_against"] is None
    missing = [w for w in report["warnings"] if w["code"] == "domain_pack_missing"]
    assert len(missing) == 1 and missing[0]["path"] == "/domainName"
    assert "'CapitalMarketsTrading'" in missing[0]["message"]


def test_validate_pack__tenant_pack_with_its_domain_pack__no_domain_pack_missing(stored_domains):
    code, report = run(REFERENCE / "tenant_finance_001.json", "--domain-version", "v3.2")
    assert code == 0 and report["checked_against"]["version"] == "v3.2"
    assert "domain_pack_missing" not in {w["code"] for w in report["warnings"]}


def test_validate_api__tenant_pack_whose_domain_has_no_domain_pack__200_warning_nothing_written(
    viewer, tenant_a
):
    content = load_reference("tenant_finance_001.json")
    before = db_state()
    response = viewer.client.post(
        "/admin/packs/validate", {"pack_type": "tenant", "content": content}, format="json"
    )
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["valid"] is True and report["checked_against"] is None
    assert [w["code"] for w in report["warnings"] if w["code"] == "domain_pack_missing"] == [
        "domain_pack_missing"
    ]
    assert db_state() == before
