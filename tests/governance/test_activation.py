import io
import json
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.services import config_activate
from packs.models import DomainPack, PackStatus, PlaybookLink, TenantPack
from packs.services import pack_set_status
from runtime_config import signals
from runtime_config.cache import GENERATION_KEY
from runtime_config.models import ActivationHistory, TenantActiveConfig
from tenants.models import TenantStatus
from tests.conftest import make_actor
from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    DOMAIN,
    SETUP,
    assert_problem,
    counts,
    domain_pack,
    tenant_pack,
)


@pytest.fixture
def packs(tenant_a, finance_domain, finance_tenant):
    return domain_pack(finance_domain), tenant_pack(finance_tenant)


def activate(actor, **body):
    return actor.client.post(ACTIVATE_URL, {"tenant_id": "TENANT_A", **body}, format="json")


def test_activate__both_versions__applies_and_promotes_drafts(admin, packs):
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tenant_id"] == "TENANT_A"
    assert body["domain"] == DOMAIN
    assert body["active_domain_pack_version"] == "v3.2"
    assert body["active_tenant_pack_version"] == "v1.4"
    assert body["activated_by"] == admin.username
    assert body["revision"] == 1
    assert body["changed"] is True
    assert body["activated_at"]
    assert DomainPack.objects.get().status == PackStatus.ACTIVE
    assert TenantPack.objects.get().status == PackStatus.ACTIVE
    row = ActivationHistory.objects.get()
    assert (row.revision, row.actor, row.kind) == (1, admin.username, "activate")
    assert row.from_domain_pack is None and row.to_domain_pack == packs[0]


def test_activate__same_request_again__unchanged_and_nothing_written(admin, packs):
    activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    before = counts()
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    assert response.status_code == 200
    assert response.json()["changed"] is False
    assert response.json()["revision"] == 1
    assert counts() == before


def test_activate__only_tenant_version__keeps_domain_version(admin, packs, finance_tenant):
    activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    tenant_pack(finance_tenant, version="v1.5")
    response = activate(admin, tenant_pack_version="v1.5")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["active_domain_pack_version"] == "v3.2"
    assert body["active_tenant_pack_version"] == "v1.5"
    assert body["revision"] == 2
    row = ActivationHistory.objects.get(revision=2)
    assert row.from_tenant_pack.version == "v1.4"
    assert row.to_tenant_pack.version == "v1.5"


def test_activate__only_domain_version__keeps_tenant_version(admin, packs, finance_domain):
    activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    domain_pack(finance_domain, version="v3.3")
    response = activate(admin, domain_pack_version="v3.3")
    assert response.status_code == 200, response.content
    assert response.json()["active_tenant_pack_version"] == "v1.4"
    assert response.json()["active_domain_pack_version"] == "v3.3"


def test_activate__domain_from_tenant_pack__resolved_without_domain_field(admin, packs):
    config = config_activate(
        principal=admin.principal,
        tenant_id="TENANT_A",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    ).config
    assert config.domain == DOMAIN


def test_activate__no_domain_anywhere__domain_required(admin, packs):
    before = counts()
    response = activate(admin, domain_pack_version="v3.2")
    body = assert_problem(response, 400, "domain_required")
    assert body["errors"][0]["path"] == "/domain"
    assert counts() == before


def test_activate__domain_without_version_on_first_activation__version_required(admin, packs):
    response = activate(admin, domain=DOMAIN)
    assert_problem(response, 400, "domain_pack_version_required")
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("domain_pack_version", "v9.9", "unknown_pack_version"),
        ("tenant_pack_version", "v9.9", "unknown_pack_version"),
        # DESIGN §7: unparseable or over 50 characters is invalid_version wherever it is given
        ("domain_pack_version", "../x", "invalid_version"),
        ("tenant_pack_version", "v" + "1" * 60, "invalid_version"),
    ],
)
def test_activate__unknown_or_invalid_version__400_at_field(admin, packs, field, value, code):
    body = {"domain_pack_version": "v3.2", "tenant_pack_version": "v1.4", field: value}
    response = activate(admin, **body)
    problem = assert_problem(response, 400, code)
    assert problem["errors"][0]["path"] == f"/{field}"
    assert counts() == (0, 0, 0)
    assert DomainPack.objects.get().status == PackStatus.DRAFT


def test_activate__500_character_version__400_with_path(admin, packs):
    response = activate(admin, domain_pack_version="v" + "1" * 499)
    body = assert_problem(response, 400, "invalid_version")
    assert body["errors"][0]["path"] == "/domain_pack_version"
    assert counts() == (0, 0, 0)


def test_activate__other_tenants_pack_version__unknown_pack_version(
    admin, packs, tenant_b, finance_tenant
):
    tenant_pack(finance_tenant, version="v7.0", tenant_id="TENANT_B")
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v7.0")
    assert_problem(response, 400, "unknown_pack_version")


def test_activate__suspended_tenant__tenant_suspended(admin, packs, tenant_a):
    tenant_a.status = TenantStatus.SUSPENDED
    tenant_a.save()
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    assert_problem(response, 409, "tenant_suspended")
    assert counts() == (0, 0, 0)


def test_activate__deprecated_pack__pack_deprecated(admin, packs):
    pack_set_status(
        principal=SETUP, pack_type="domain", domain=DOMAIN, version="v3.2", status="DEPRECATED"
    )
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    body = assert_problem(response, 409, "pack_deprecated")
    assert body["errors"][0]["path"] == "/domain_pack_version"
    assert counts() == (0, 0, 0)
    assert TenantPack.objects.get().status == PackStatus.DRAFT


def test_activate__finance_tenant_on_acme_domain__every_reason_listed(
    admin, tenant_a, acme_domain, finance_tenant
):
    domain_pack(acme_domain, version="v4.0")
    tenant_pack(finance_tenant)
    response = activate(admin, domain_pack_version="v4.0", tenant_pack_version="v1.4")
    body = assert_problem(response, 409, "incompatible_packs")
    missing_tools = [t for t in finance_tenant["approvedTools"] if t not in acme_domain["tools"]]
    assert len(missing_tools) >= 9
    tool_errors = [e for e in body["errors"] if e["code"] == "unknown_tool"]
    assert sorted(e["message"].split("'")[1] for e in tool_errors) == sorted(missing_tools)
    for error in tool_errors:
        assert error["path"].startswith("/approvedTools/")
    type_errors = [e for e in body["errors"] if e["code"] == "unknown_exception_type"]
    assert {e["path"] for e in type_errors} == {
        "/customSeverityOverrides/0/exceptionType",
        "/customSeverityOverrides/1/exceptionType",
    }
    text = json.dumps(type_errors)
    assert "REG_REPORT_REJECTED" in text and "SEC_MASTER_MISMATCH" in text
    assert counts() == (0, 0, 0)


def test_activate__custom_playbook_with_unknown_tool_and_type__both_listed(
    admin, tenant_a, finance_domain, finance_tenant
):
    domain_pack(finance_domain)
    content = dict(finance_tenant)
    content["customPlaybooks"] = [
        {"exceptionType": "NO_SUCH_TYPE", "steps": [{"action": "x", "tool": "noSuchTool"}]}
    ]
    tenant_pack(content)
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    body = assert_problem(response, 409, "incompatible_packs")
    paths = {e["path"] for e in body["errors"]}
    assert paths == {"/customPlaybooks/0/exceptionType", "/customPlaybooks/0/steps/0/tool"}


def test_activate__tenant_pack_of_other_domain__domain_mismatch_listed(
    admin, tenant_a, finance_domain, finance_tenant
):
    domain_pack(finance_domain, domain="Other")
    tenant_pack(finance_tenant)
    response = activate(
        admin, domain="Other", domain_pack_version="v3.2", tenant_pack_version="v1.4"
    )
    body = assert_problem(response, 409, "incompatible_packs")
    assert body["errors"][0]["path"] == "/domainName"


def test_activate__expected_revision_mismatch__revision_conflict(admin, packs):
    response = activate(
        admin, domain_pack_version="v3.2", tenant_pack_version="v1.4", expected_revision=3
    )
    body = assert_problem(response, 409, "revision_conflict")
    assert body["current_revision"] == 0
    assert counts() == (0, 0, 0)


def test_activate__expected_revision_matches__applies(admin, packs):
    response = activate(
        admin, domain_pack_version="v3.2", tenant_pack_version="v1.4", expected_revision=0
    )
    assert response.status_code == 200
    assert response.json()["revision"] == 1


def test_activate__typo_field__unknown_field(admin, packs):
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_verison="v1.4")
    body = assert_problem(response, 400, "unknown_field")
    assert body["errors"][0]["path"] == "/tenant_pack_verison"
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"tenant_id": "TENANT_A", "expected_revision": "1"},
        {"tenant_id": "TENANT_A", "expected_revision": True},
        {"tenant_id": "TENANT_A", "dry_run": "yes"},
        {"tenant_id": 5},
        {},
        [],
    ],
)
def test_activate__wrong_types__400_nothing_written(admin, packs, body):
    response = admin.client.post(ACTIVATE_URL, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert counts() == (0, 0, 0)


def test_activate__unknown_tenant__404(admin, packs):
    response = admin.client.post(
        ACTIVATE_URL,
        {"tenant_id": "NOPE", "domain_pack_version": "v3.2"},
        format="json",
    )
    assert_problem(response, 404, "tenant_not_found")


def test_activate__applied__signal_carries_versions_and_checksums(admin, packs, finance_tenant):
    events = []

    def receiver(sender, event, **kwargs):
        events.append(event)

    signals.config_activated.connect(receiver)
    try:
        activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
        tenant_pack(finance_tenant, version="v1.5")
        activate(admin, tenant_pack_version="v1.5", comment="new overrides")
    finally:
        signals.config_activated.disconnect(receiver)
    assert len(events) == 2
    assert events[0].details["promoted_to_active"] == [
        {"pack_type": "domain", "version": "v3.2"},
        {"pack_type": "tenant", "version": "v1.4"},
    ]
    event = events[1]
    assert event.details["promoted_to_active"] == [{"pack_type": "tenant", "version": "v1.5"}]
    assert event.action == "config.activated"
    assert (event.actor, event.tenant_id, event.domain) == (admin.username, "TENANT_A", DOMAIN)
    before, after = event.details["before"], event.details["after"]
    assert before["tenant_pack_version"] == "v1.4"
    assert after["tenant_pack_version"] == "v1.5"
    assert before["tenant_pack_checksum"] == TenantPack.objects.get(version="v1.4").checksum
    assert after["tenant_pack_checksum"] == TenantPack.objects.get(version="v1.5").checksum
    assert after["domain_pack_checksum"] == packs[0].checksum
    assert (before["revision"], after["revision"]) == (1, 2)
    assert event.details["comment"] == "new overrides"


def test_activate__applied__runtime_generation_bumped_after_commit(
    admin, packs, django_capture_on_commit_callbacks
):
    generation = cache.get(GENERATION_KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    assert callbacks
    assert cache.get(GENERATION_KEY) != generation


def test_activate__refused__no_signal_sent(admin, packs):
    events = []

    def receiver(sender, event, **kwargs):
        events.append(event)

    signals.config_activated.connect(receiver)
    try:
        activate(admin, domain_pack_version="v3.2", tenant_pack_version="v9")
    finally:
        signals.config_activated.disconnect(receiver)
    assert events == []


def test_activate__broken_playbook_link__incompatible_playbook_links(
    admin, tenant_a, finance_domain, acme_domain
):
    domain_pack(finance_domain)
    domain_pack(acme_domain, version="v4.0")
    activate(admin, domain_pack_version="v3.2", domain=DOMAIN)
    PlaybookLink.objects.create(
        tenant=tenant_a, domain=DOMAIN, playbook_id="SETTLEMENT_FAIL", created_by="setup"
    )
    before = counts()
    response = activate(admin, domain_pack_version="v4.0")
    body = assert_problem(response, 409, "incompatible_playbook_links")
    assert body["errors"]
    assert counts() == before
    assert TenantActiveConfig.objects.get().domain_pack.version == "v3.2"


# --- dry run -------------------------------------------------------------------------------


def test_dry_run__valid_change__preview_and_nothing_written(admin, packs, finance_tenant):
    activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4")
    changed = dict(finance_tenant)
    changed["customSeverityOverrides"] = [{"exceptionType": "CASH_BREAK", "severity": "LOW"}]
    tenant_pack(changed, version="v1.5")
    before = counts()
    response = activate(admin, tenant_pack_version="v1.5", dry_run=True)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True
    assert body["outcome"] == "apply"
    assert body["changes"] == [
        {"field": "tenant_pack_version", "from": "v1.4", "to": "v1.5"},
    ]
    assert body["proposed"]["revision"] == 2
    assert body["current"]["revision"] == 1
    diff = body["effective_config_diff"]
    assert diff["added"] or diff["removed"] or diff["changed"]
    assert body["errors"] == []
    assert body["requires_approval"] is False
    assert counts() == before
    assert TenantPack.objects.get(version="v1.5").status == PackStatus.DRAFT


def test_dry_run__incompatible_pair__every_finding_and_nothing_written(
    admin, tenant_a, acme_domain, finance_tenant
):
    domain_pack(acme_domain, version="v4.0")
    tenant_pack(finance_tenant)
    response = activate(admin, domain_pack_version="v4.0", tenant_pack_version="v1.4", dry_run=True)
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "refused"
    assert body["valid"] is False
    assert "incompatible_packs" in body["problems"]
    codes = {e["code"] for e in body["errors"]}
    assert {"unknown_tool", "unknown_exception_type"} <= codes
    assert counts() == (0, 0, 0)


def test_dry_run__approval_required__says_so_and_creates_nothing(admin, packs, settings):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4", dry_run=True)
    assert response.json()["outcome"] == "pending_approval"
    assert response.json()["requires_approval"] is True
    assert counts() == (0, 0, 0)


def test_dry_run__suspended_tenant__finding_not_error(admin, packs, tenant_a):
    tenant_a.status = TenantStatus.SUSPENDED
    tenant_a.save()
    response = activate(admin, domain_pack_version="v3.2", tenant_pack_version="v1.4", dry_run=True)
    assert response.status_code == 200
    assert response.json()["problems"] == ["tenant_suspended"]


# --- command -------------------------------------------------------------------------------


@pytest.fixture
def ops_bot(db):
    """`--actor` names a real user with ADMIN (issue 21)."""
    return make_actor("ops-bot", "ADMIN")


def test_command__applies__prints_json_exit_0(ops_bot, packs):
    out = io.StringIO()
    call_command(
        "activate",
        "--tenant",
        "TENANT_A",
        "--domain-version",
        "v3.2",
        "--tenant-version",
        "v1.4",
        "--actor",
        "ops-bot",
        stdout=out,
    )
    body = json.loads(out.getvalue())
    assert body["revision"] == 1
    assert body["activated_by"] == "ops-bot"
    # Times as the API prints them (issue 25 item 11): RFC 3339 in UTC with Z, not str(datetime).
    activated_at = TenantActiveConfig.objects.get(pk="TENANT_A").activated_at
    assert body["activated_at"] == activated_at.isoformat().replace("+00:00", "Z")
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]+)?Z", body["activated_at"])


def test_command__dry_run__writes_nothing(ops_bot, packs):
    out = io.StringIO()
    call_command(
        "activate",
        "--tenant",
        "TENANT_A",
        "--domain",
        "CapitalMarketsTrading",
        "--domain-version",
        "v3.2",
        "--dry-run",
        "--actor",
        "ops-bot",
        stdout=out,
    )
    assert json.loads(out.getvalue())["dry_run"] is True
    assert counts() == (0, 0, 0)


def test_command__approval_required__exit_3_with_change_request(ops_bot, packs, settings):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "activate",
            "--tenant",
            "TENANT_A",
            "--tenant-version",
            "v1.4",
            "--domain-version",
            "v3.2",
            "--actor",
            "ops-bot",
            stdout=out,
        )
    assert exit_info.value.code == 3
    assert json.loads(out.getvalue())["change_request"]["status"] == "PENDING"
    assert counts() == (0, 0, 1)


def test_command__unknown_version__exit_1(ops_bot, packs):
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(
            "activate",
            "--tenant",
            "TENANT_A",
            "--tenant-version",
            "v1.4",
            "--domain-version",
            "v9.9",
            "--actor",
            "ops-bot",
            stderr=err,
        )
    assert error.value.returncode == 1
    assert "unknown_pack_version" in err.getvalue()
    assert counts() == (0, 0, 0)
    assert SETUP.username == "setup"
