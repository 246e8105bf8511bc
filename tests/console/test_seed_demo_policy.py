"""`seed_demo` under every approval policy (issue 15): it prints the logins, never a traceback,
and running it twice gives the same state; with four-eyes on, it files one request and waits."""

import pytest

from governance.services import change_request_approve
from packs.models import PlaybookLink
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tenants.models import PlatformSettings, Tenant
from tenants.principals import Principal
from tests.ops.test_commands import run, state

TENANT = "TENANT_FINANCE_001"


def _global_on() -> None:
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})


def _tenant_on() -> None:
    Tenant.objects.create(
        tenant_id=TENANT, name="Finance", created_by="setup", require_activation_approval=True
    )


def _requests() -> list:
    return sorted(
        ConfigChangeRequest.objects.values_list("status", "kind", "requested_by", "tenant_id")
    )


@pytest.mark.django_db
@pytest.mark.parametrize("policy", [_global_on, _tenant_on], ids=["global_on", "tenant_on"])
def test_seed_demo__approval_applies__logins_printed_one_pending_request_idempotent(policy):
    policy()
    code, out = run("seed_demo")
    assert code == 0, out
    assert "Traceback" not in out
    assert "admin-demo-password" in out and "admin2" in out
    assert "awaiting approval" in out
    first, requests = state(), _requests()
    assert requests == [("PENDING", "activate", "seed_demo", TENANT)]
    assert TenantActiveConfig.objects.count() == 0
    assert [row[:2] for row in first["samples"]] == [(TENANT, 8)]  # impact for the reviewer

    code, out = run("seed_demo")
    assert code == 0, out
    assert "awaiting approval" in out
    assert (state(), _requests()) == (first, requests)


@pytest.mark.django_db
def test_seed_demo__approved_then_run_again__active_and_linked_idempotent():
    _global_on()
    run("seed_demo")
    change = ConfigChangeRequest.objects.get()
    change_request_approve(principal=Principal.system("admin2"), change_request_id=change.pk)
    code, out = run("seed_demo")
    assert code == 0, out
    after = state()
    assert after["active"] == [(TENANT, "v3.2", "v1.4", 1)]
    assert PlaybookLink.objects.filter(tenant_id=TENANT).count() == 1
    assert run("seed_demo")[0] == 0
    assert state() == after
    assert ConfigChangeRequest.objects.count() == 1
