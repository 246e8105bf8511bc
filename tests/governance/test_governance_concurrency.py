"""Governance under concurrent writers (PostgreSQL; select_for_update is a no-op on SQLite):
a policy change racing activations never lets an activation skip an approval that applied when
it committed; a deprecation racing change requests never leaves a request naming a deprecated
pack; concurrent requests for one tenant leave exactly one PENDING."""

import pytest

from audit.models import AuditEvent
from governance.services import change_request_approve, config_activate, tenant_set_approval_policy
from packs.models import PackStatus, TenantPack
from packs.services import pack_set_status
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest
from tenants.models import PlatformSettings, Tenant
from tenants.principals import Principal
from tests.runtime_config.activation_helpers import domain_pack, tenant_pack
from tests.runtime_config.test_concurrency import run_in_threads

ACTIVATORS = 6


def _activate(index: int, version: str):
    return config_activate(
        principal=Principal.system(f"activator-{index}"),
        tenant_id="TENANT_A",
        domain_pack_version="v3.2",
        tenant_pack_version=version,
    ).status


def _direct_activation_ids() -> list[int]:
    """Audit ids of activations applied without a change request."""
    return [
        row.id
        for row in AuditEvent.objects.filter(action="config.activated", tenant_id="TENANT_A")
        if not row.details.get("change_request_id")
    ]


@pytest.fixture
def versions(tenant_a, finance_domain, finance_tenant):
    domain_pack(finance_domain)
    names = [f"v1.{index}" for index in range(ACTIVATORS)]
    for name in names:
        tenant_pack(finance_tenant, version=name)
    return names


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_weakening_approved_vs_activations__direct_ones_only_after_the_policy_commit(
    versions, round_
):
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    weakening = tenant_set_approval_policy(
        principal=Principal.system("requester"),
        tenant_id="TENANT_A",
        require_activation_approval=False,
    ).change_request
    assert weakening is not None

    def work(index: int):
        if index == ACTIVATORS:
            change_request_approve(
                principal=Principal.system("approver"), change_request_id=weakening.pk
            )
            return "approved"
        return _activate(index, versions[index])

    results, errors = run_in_threads(ACTIVATORS + 1, work)
    assert errors == []
    assert "approved" in results
    policy_row = AuditEvent.objects.get(action="tenant.policy_changed")
    # Every activation applied without approval committed after the weakening did.
    assert all(event_id > policy_row.id for event_id in _direct_activation_ids())
    assert results.count("applied") == len(_direct_activation_ids())
    assert set(results) <= {"approved", "applied", "pending", "unchanged"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_strengthening_vs_activations__no_direct_activation_after_it(versions, round_):
    Tenant.objects.filter(pk="TENANT_A").update(require_activation_approval=False)

    def work(index: int):
        if index == ACTIVATORS:
            tenant_set_approval_policy(
                principal=Principal.system("strengthener"),
                tenant_id="TENANT_A",
                require_activation_approval=True,
            )
            return "strengthened"
        return _activate(index, versions[index])

    results, errors = run_in_threads(ACTIVATORS + 1, work)
    assert errors == []
    policy_row = AuditEvent.objects.get(action="tenant.policy_changed")
    assert all(event_id < policy_row.id for event_id in _direct_activation_ids())
    pending = ConfigChangeRequest.objects.filter(status=ChangeRequestStatus.PENDING)
    assert pending.count() == (1 if "pending" in results else 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_deprecate_vs_requests__never_a_request_naming_a_deprecated_pack(versions, round_):
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    target = versions[1]

    def work(index: int):
        if index == 0:
            pack_set_status(
                principal=Principal.system("deprecator"),
                pack_type="tenant",
                tenant_id="TENANT_A",
                version=target,
                status=PackStatus.DEPRECATED,
            )
            return "deprecated"
        return _activate(index, target)

    results, errors = run_in_threads(4, work)
    codes = sorted(getattr(error, "code", repr(error)) for error in errors)
    assert set(codes) <= {"pack_pending_approval", "pack_deprecated"}, codes
    status = TenantPack.objects.get(tenant_id="TENANT_A", version=target).status
    waiting = ConfigChangeRequest.objects.filter(
        tenant_pack__version=target,
        status__in=(ChangeRequestStatus.PENDING, ChangeRequestStatus.SCHEDULED),
    )
    if status == PackStatus.DEPRECATED:
        assert "deprecated" in results and not waiting.exists()
    else:
        assert codes.count("pack_pending_approval") == 1
        # The one request left PENDING is approvable: nothing is stuck.
        (change,) = waiting
        change_request_approve(principal=Principal.system("approver"), change_request_id=change.pk)
        assert ConfigChangeRequest.objects.get(pk=change.pk).status == ChangeRequestStatus.APPLIED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_requests_for_one_tenant_concurrently__exactly_one_pending_rest_superseded(versions):
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    results, errors = run_in_threads(ACTIVATORS, lambda index: _activate(index, versions[index]))
    assert errors == []
    assert results == ["pending"] * ACTIVATORS
    statuses = sorted(ConfigChangeRequest.objects.values_list("status", "status_reason"))
    assert statuses == [("PENDING", "")] + [("STALE", "superseded")] * (ACTIVATORS - 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_approve_vs_new_request__never_applied_and_superseded(versions, round_):
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    assert _activate(0, versions[0]) == "pending"
    first = ConfigChangeRequest.objects.get()

    def work(index: int):
        if index == 0:
            return change_request_approve(
                principal=Principal.system("approver"), change_request_id=first.pk
            )[0].status
        return _activate(index, versions[index])

    _, errors = run_in_threads(2, work)
    first.refresh_from_db()
    if first.status == ChangeRequestStatus.APPLIED:
        assert errors == [] and first.status_reason == ""
    else:
        assert (first.status, first.status_reason) == ("STALE", "superseded")
        assert [getattr(error, "code", error) for error in errors] == ["not_pending"]
    assert ConfigChangeRequest.objects.filter(status=ChangeRequestStatus.PENDING).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_global_switched_on_vs_activations__no_direct_activation_after_it(versions, round_):
    """The tenant follows the global setting: activations hold it FOR SHARE while deciding."""
    from governance.services import platform_settings_update

    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": False})

    def work(index: int):
        if index == ACTIVATORS:
            platform_settings_update(
                principal=Principal.system("strengthener"), require_activation_approval=True
            )
            return "switched_on"
        return _activate(index, versions[index])

    _, errors = run_in_threads(ACTIVATORS + 1, work)
    assert errors == []
    setting_row = AuditEvent.objects.get(action="platform.settings_changed")
    assert all(event_id < setting_row.id for event_id in _direct_activation_ids())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_global_switch_off_approved_vs_activations__direct_ones_only_after_it(versions, round_):
    from governance.services import platform_settings_update

    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    weakening = platform_settings_update(
        principal=Principal.system("requester"), require_activation_approval=False
    ).change_request

    def work(index: int):
        if index == ACTIVATORS:
            change_request_approve(
                principal=Principal.system("approver"), change_request_id=weakening.pk
            )
            return "approved"
        return _activate(index, versions[index])

    results, errors = run_in_threads(ACTIVATORS + 1, work)
    assert errors == []
    setting_row = AuditEvent.objects.get(action="platform.settings_changed")
    assert all(event_id > setting_row.id for event_id in _direct_activation_ids())
    assert results.count("applied") == len(_direct_activation_ids())
