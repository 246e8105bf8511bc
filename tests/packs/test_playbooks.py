"""Playbook registry, compatibility, links and the activation guard (issue 7)."""

import copy

import pytest
from django.utils import timezone

from onboarding.errors import Conflict, NotFound
from packs import signals
from packs.models import PlaybookLink
from packs.playbooks import (
    compatibility_reasons,
    find_playbook,
    link_findings_for_pair,
    playbook_registry,
    registry_for_pair,
)
from packs.services import (
    domain_pack_create,
    playbook_link_create,
    playbook_link_delete,
    tenant_pack_create,
)
from runtime_config.models import TenantActiveConfig
from tenants.principals import Principal

DOMAIN = "CapitalMarketsTrading"
SETUP = Principal.system("setup")


def make_domain(content: dict, version: str = "v3.2"):
    return domain_pack_create(principal=SETUP, domain=DOMAIN, version=version, content=content)


def make_tenant_pack(tenant_id: str, content: dict, version: str = "v1.4"):
    return tenant_pack_create(
        principal=SETUP, tenant_id=tenant_id, version=version, content=content
    )


def activate(tenant_id: str, domain_pack, tenant_pack=None) -> TenantActiveConfig:
    config, _ = TenantActiveConfig.objects.update_or_create(
        tenant_id=tenant_id,
        defaults={
            "domain": DOMAIN,
            "domain_pack": domain_pack,
            "tenant_pack": tenant_pack,
            "activated_at": timezone.now(),
            "activated_by": "setup",
            "revision": 1,
        },
    )
    return config


@pytest.fixture
def finance_pair(db, tenant_a, finance_domain, finance_tenant):
    domain_pack = make_domain(finance_domain)
    tenant_pack = make_tenant_pack(tenant_a.tenant_id, finance_tenant)
    activate(tenant_a.tenant_id, domain_pack, tenant_pack)
    return domain_pack, tenant_pack


@pytest.fixture
def events():
    sent = []

    def receive(sender, event, **kwargs):
        sent.append(event)

    signals.playbook_linked.connect(receive, weak=False)
    signals.playbook_unlinked.connect(receive, weak=False)
    yield sent
    signals.playbook_linked.disconnect(receive)
    signals.playbook_unlinked.disconnect(receive)


def by_id(entries):
    return {entry.playbook_id: entry for entry in entries}


# --- registry --------------------------------------------------------------------------------


def test_registry__finance_domain_pack__five_playbooks_with_tools_found_in_step_text(
    finance_pair,
):
    domain_pack, _ = finance_pair
    entries = by_id(registry_for_pair(domain_pack, None))

    assert sorted(entries) == [
        "FAILED_ALLOCATION",
        "MISMATCHED_TRADE_DETAILS",
        "POSITION_BREAK",
        "REG_REPORT_REJECTED",
        "SETTLEMENT_FAIL",
    ]
    assert {entry.source for entry in entries.values()} == {"domain"}
    assert {entry.pack_version for entry in entries.values()} == {"v3.2"}
    assert {"getAllocations", "repairAllocation", "openCase"} <= set(
        entries["FAILED_ALLOCATION"].tools
    )
    assert {"getOrder", "getExecutions", "openCase"} <= set(
        entries["MISMATCHED_TRADE_DETAILS"].tools
    )
    assert "recalculatePosition" in entries["POSITION_BREAK"].tools
    assert ("/playbooks/1/steps/1", "repairAllocation") in entries["FAILED_ALLOCATION"].refs


def test_registry__finance_pair__every_playbook_compatible(finance_pair):
    domain_pack, tenant_pack = finance_pair
    entries = registry_for_pair(domain_pack, tenant_pack)
    assert len(entries) >= 2, "an empty registry would pass this loop"
    for entry in entries:
        assert compatibility_reasons(entry, domain_pack=domain_pack, tenant_pack=tenant_pack) == []


def test_registry__tenant_custom_playbook__listed_as_tenant_and_wins_lookup(
    tenant_a, finance_domain, finance_tenant
):
    custom = copy.deepcopy(finance_tenant)
    custom["customPlaybooks"] = [
        {"exceptionType": "SETTLEMENT_FAIL", "steps": [{"action": "escalateCase(id)"}]},
        {"playbookId": "cash-sweep", "exceptionType": "CASH_BREAK", "steps": []},
    ]
    domain_pack = make_domain(finance_domain)
    tenant_pack = make_tenant_pack(tenant_a.tenant_id, custom)

    entries = registry_for_pair(domain_pack, tenant_pack)
    chosen = find_playbook(entries, "SETTLEMENT_FAIL")

    assert [entry.source for entry in entries].count("tenant") == 2
    assert chosen.source == "tenant"
    assert chosen.pack_version == "v1.4"
    assert chosen.tools == ["escalateCase"]
    assert find_playbook(entries, "cash-sweep").exception_type == "CASH_BREAK"


# --- compatibility ---------------------------------------------------------------------------


def test_compatibility__tool_missing_from_approved_tools__tool_not_approved(
    tenant_a, finance_domain, finance_tenant
):
    narrow = copy.deepcopy(finance_tenant)
    narrow["approvedTools"] = ["getAllocations"]
    domain_pack = make_domain(finance_domain)
    tenant_pack = make_tenant_pack(tenant_a.tenant_id, narrow)
    playbook = find_playbook(registry_for_pair(domain_pack, tenant_pack), "FAILED_ALLOCATION")

    reasons = compatibility_reasons(playbook, domain_pack=domain_pack, tenant_pack=tenant_pack)

    assert {(r["code"], r["path"]) for r in reasons} == {
        ("tool_not_approved", "/playbooks/1/steps/1"),
        ("tool_not_approved", "/playbooks/1/steps/3"),
    }
    assert all("FAILED_ALLOCATION" in r["message"] for r in reasons)
    messages = " ".join(r["message"] for r in reasons)
    assert "'repairAllocation'" in messages
    assert "'openCase'" in messages


def test_compatibility__unknown_type_unknown_tool_and_block_lists__every_reason(
    tenant_a, finance_domain, finance_tenant
):
    domain = copy.deepcopy(finance_domain)
    domain["playbooks"].append(
        {"exceptionType": "NO_SUCH_TYPE", "steps": [{"action": "x", "tool": "launchRocket"}]}
    )
    domain["guardrails"]["blockLists"] = ["openCase"]
    tenant = copy.deepcopy(finance_tenant)
    tenant["customGuardrails"]["blockLists"] = ["repairAllocation"]
    domain_pack = make_domain(domain)
    tenant_pack = make_tenant_pack(tenant_a.tenant_id, tenant)
    entries = registry_for_pair(domain_pack, tenant_pack)

    odd = compatibility_reasons(
        find_playbook(entries, "NO_SUCH_TYPE"), domain_pack=domain_pack, tenant_pack=tenant_pack
    )
    allocation = compatibility_reasons(
        find_playbook(entries, "FAILED_ALLOCATION"),
        domain_pack=domain_pack,
        tenant_pack=tenant_pack,
    )

    assert [r["code"] for r in odd] == [
        "unknown_exception_type",
        "unknown_tool",
        "tool_not_approved",
    ]
    assert odd[0]["path"] == "/playbooks/5/exceptionType"
    assert "launchRocket" in odd[1]["message"]
    blocked = [r for r in allocation if r["code"] == "tool_blocked"]
    assert len(blocked) == 2
    assert any("/guardrails/blockLists/0" in r["message"] for r in blocked)
    assert any("/customGuardrails/blockLists/0" in r["message"] for r in blocked)


# --- links (service) -------------------------------------------------------------------------


def test_link_create__compatible_playbook__stored_and_signal_sent(finance_pair, owner, events):
    link = playbook_link_create(
        principal=owner.principal, tenant_id="TENANT_A", playbook_id="SETTLEMENT_FAIL"
    )

    assert link.domain == DOMAIN
    assert link.domain_pack is None
    assert link.created_by == owner.username
    [event] = events
    assert event.action == "playbook.linked"
    assert event.tenant_id == "TENANT_A"
    assert event.object_id == "SETTLEMENT_FAIL"
    assert event.domain == DOMAIN
    assert event.version == "v3.2"
    assert event.details["link_id"] == link.pk
    assert "triggerSettlementRetry" in event.details["tools"]


def test_link_create__incompatible_playbook__conflict_with_every_reason_nothing_written(
    tenant_a, owner, finance_domain, finance_tenant, events
):
    narrow = copy.deepcopy(finance_tenant)
    narrow["approvedTools"] = ["getAllocations"]
    activate("TENANT_A", make_domain(finance_domain), make_tenant_pack("TENANT_A", narrow))

    with pytest.raises(Conflict) as caught:
        playbook_link_create(
            principal=owner.principal, tenant_id="TENANT_A", playbook_id="FAILED_ALLOCATION"
        )

    assert caught.value.code == "incompatible_playbook"
    assert len(caught.value.errors) == 2
    assert not PlaybookLink.objects.exists()
    assert events == []


def test_link_create__pinned_version__checked_against_that_version(
    finance_pair, owner, acme_domain
):
    make_domain(acme_domain, version="v4.0")

    with pytest.raises(NotFound) as caught:
        playbook_link_create(
            principal=owner.principal,
            tenant_id="TENANT_A",
            playbook_id="SETTLEMENT_FAIL",
            domain_pack_version="v4.0",
        )
    link = playbook_link_create(
        principal=owner.principal,
        tenant_id="TENANT_A",
        playbook_id="SETTLEMENT_FAIL",
        domain_pack_version="3.2",
    )

    assert caught.value.code == "playbook_not_found"
    assert link.domain_pack.version == "v3.2"


def test_link_delete__owner__removed_and_signal_sent(finance_pair, owner, events):
    link = playbook_link_create(
        principal=owner.principal, tenant_id="TENANT_A", playbook_id="POSITION_BREAK"
    )

    playbook_link_delete(principal=owner.principal, link_id=link.pk)

    assert not PlaybookLink.objects.exists()
    assert [event.action for event in events] == ["playbook.linked", "playbook.unlinked"]
    assert events[1].object_id == "POSITION_BREAK"
    assert events[1].details["link_id"] == link.pk
    assert events[1].version == "v3.2"


# --- activation guard ------------------------------------------------------------------------


def test_link_findings__acme_pair_with_linked_finance_playbook__error_names_link(
    finance_pair, owner, acme_domain, django_assert_max_num_queries
):
    link = playbook_link_create(
        principal=owner.principal, tenant_id="TENANT_A", playbook_id="SETTLEMENT_FAIL"
    )
    acme = make_domain(acme_domain, version="v4.0")

    with django_assert_max_num_queries(1):
        errors, warnings = link_findings_for_pair(
            tenant_id="TENANT_A", domain_pack=acme, tenant_pack=None
        )

    assert warnings == []
    [error] = errors
    assert error["code"] == "incompatible_playbook_link"
    assert f"Playbook link {link.pk} (SETTLEMENT_FAIL)" in error["message"]
    assert "v4.0" in error["message"]


def test_link_findings__finance_pair__no_findings(finance_pair, owner):
    domain_pack, tenant_pack = finance_pair
    for playbook_id in ("SETTLEMENT_FAIL", "FAILED_ALLOCATION"):
        playbook_link_create(
            principal=owner.principal, tenant_id="TENANT_A", playbook_id=playbook_id
        )

    assert link_findings_for_pair(
        tenant_id="TENANT_A", domain_pack=domain_pack, tenant_pack=tenant_pack
    ) == ([], [])


def test_link_findings__pinned_link__warning_and_checked_against_new_tenant_pack(
    finance_pair, owner, acme_domain, finance_tenant
):
    link = playbook_link_create(
        principal=owner.principal,
        tenant_id="TENANT_A",
        playbook_id="FAILED_ALLOCATION",
        domain_pack_version="v3.2",
    )
    acme = make_domain(acme_domain, version="v4.0")
    narrow = copy.deepcopy(finance_tenant)
    narrow["approvedTools"] = ["repairAllocation", "getAllocations"]
    narrow_pack = make_tenant_pack("TENANT_A", narrow, version="v1.5")

    _, pinned_warnings = link_findings_for_pair(
        tenant_id="TENANT_A", domain_pack=acme, tenant_pack=None
    )
    errors, _ = link_findings_for_pair(
        tenant_id="TENANT_A", domain_pack=acme, tenant_pack=narrow_pack
    )

    assert [w["code"] for w in pinned_warnings] == ["playbook_link_pinned"]
    assert str(link.pk) in pinned_warnings[0]["message"]
    [error] = errors
    assert "openCase" in error["message"]
    assert error["path"] == "/playbooks/1/steps/3"


def test_activate__acme_with_linked_finance_playbook__refused_then_unlink_then_succeeds(
    tenant_a, owner, finance_domain, acme_domain
):
    from governance.services import config_activate

    tenant_a.require_activation_approval = False
    tenant_a.save(update_fields=["require_activation_approval"])
    make_domain(finance_domain)
    make_domain(acme_domain, version="v4.0")
    config_activate(
        principal=owner.principal, tenant_id="TENANT_A", domain=DOMAIN, domain_pack_version="v3.2"
    )
    link = playbook_link_create(
        principal=owner.principal, tenant_id="TENANT_A", playbook_id="SETTLEMENT_FAIL"
    )

    preview = config_activate(
        principal=owner.principal, tenant_id="TENANT_A", domain_pack_version="v4.0", dry_run=True
    ).preview
    with pytest.raises(Conflict) as caught:
        config_activate(principal=owner.principal, tenant_id="TENANT_A", domain_pack_version="v4.0")
    assert TenantActiveConfig.objects.get(tenant_id="TENANT_A").domain_pack.version == "v3.2"
    playbook_link_delete(principal=owner.principal, link_id=link.pk)
    outcome = config_activate(
        principal=owner.principal, tenant_id="TENANT_A", domain_pack_version="v4.0"
    )

    assert caught.value.code == "incompatible_playbook_links"
    assert [e["code"] for e in caught.value.errors] == ["incompatible_playbook_link"]
    assert "SETTLEMENT_FAIL" in caught.value.errors[0]["message"]
    assert "incompatible_playbook_links" in preview["problems"]
    assert outcome.status == "applied"
    assert outcome.config.domain_pack.version == "v4.0"


# --- registry query --------------------------------------------------------------------------


def test_playbook_registry__pinned_link_to_older_version__row_from_pinned_version(
    finance_pair, owner, finance_domain
):
    playbook_link_create(
        principal=owner.principal,
        tenant_id="TENANT_A",
        playbook_id="SETTLEMENT_FAIL",
        domain_pack_version="v3.2",
    )
    newer = copy.deepcopy(finance_domain)
    newer["playbooks"] = [p for p in newer["playbooks"] if p["exceptionType"] != "SETTLEMENT_FAIL"]
    activate("TENANT_A", make_domain(newer, version="v3.3"), finance_pair[1])

    rows = {row["playbook_id"]: row for row in playbook_registry(principal=owner.principal)}

    assert rows["SETTLEMENT_FAIL"]["pack_version"] == "v3.2"
    assert rows["SETTLEMENT_FAIL"]["linked"] is True
    assert rows["SETTLEMENT_FAIL"]["pinned_version"] == "v3.2"
    assert rows["SETTLEMENT_FAIL"]["compatible"] is True
    assert rows["FAILED_ALLOCATION"]["pack_version"] == "v3.3"


@pytest.fixture
def acme_ready(tenant_a, owner, finance_domain, acme_domain):
    """TENANT_A on finance v3.2 (revision 1), with acme v4.0 imported."""
    from governance.services import config_activate

    tenant_a.require_activation_approval = False
    tenant_a.save(update_fields=["require_activation_approval"])
    make_domain(finance_domain)
    make_domain(acme_domain, version="v4.0")
    config_activate(
        principal=owner.principal, tenant_id="TENANT_A", domain=DOMAIN, domain_pack_version="v3.2"
    )
    return tenant_a


def test_approve__link_added_after_request__refused_with_link_reasons(
    acme_ready, owner, second_admin
):
    from governance.services import change_request_approve, config_activate

    acme_ready.require_activation_approval = True
    acme_ready.save(update_fields=["require_activation_approval"])
    pending = config_activate(
        principal=owner.principal, tenant_id="TENANT_A", domain_pack_version="v4.0"
    )
    playbook_link_create(
        principal=owner.principal, tenant_id="TENANT_A", playbook_id="FAILED_ALLOCATION"
    )

    with pytest.raises(Conflict) as caught:
        change_request_approve(
            principal=second_admin.principal, change_request_id=pending.change_request.pk
        )

    assert pending.status == "pending"
    assert caught.value.code == "incompatible_playbook_links"
    assert "FAILED_ALLOCATION" in caught.value.errors[0]["message"]
    assert TenantActiveConfig.objects.get(tenant_id="TENANT_A").domain_pack.version == "v3.2"


def test_rollback__to_pair_breaking_a_link__refused_with_link_reasons(acme_ready, owner):
    from governance.services import config_activate, config_rollback

    config_activate(principal=owner.principal, tenant_id="TENANT_A", domain_pack_version="v4.0")
    playbook_link_create(
        principal=owner.principal, tenant_id="TENANT_A", playbook_id="FIN_SETTLEMENT_FAIL"
    )

    with pytest.raises(Conflict) as caught:
        config_rollback(principal=owner.principal, tenant_id="TENANT_A")

    assert caught.value.code == "incompatible_playbook_links"
    assert "FIN_SETTLEMENT_FAIL" in caught.value.errors[0]["message"]
    assert TenantActiveConfig.objects.get(tenant_id="TENANT_A").domain_pack.version == "v4.0"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_link_create__two_concurrent_identical_requests__one_link_one_conflict(finance_pair, owner):
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create() -> None:
        try:
            barrier.wait()
            playbook_link_create(
                principal=owner.principal, tenant_id="TENANT_A", playbook_id="SETTLEMENT_FAIL"
            )
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "link_exists"]
    assert PlaybookLink.objects.count() == 1
