"""Completeness for the pack import, activation, approval and playbook-link services: one audit
row per successful call with the right action, actor, tenant, version and checksum; none for a
call that fails (a validation failure aside, which records `pack.import_rejected`)."""

import pytest
from django.test import override_settings

from audit.models import AuditEvent
from governance import services as config_services
from onboarding.errors import ServiceError
from packs import services as packs_services
from tests.conftest import make_tenant

FINANCE = "TENANT_FINANCE_001"


def new_rows(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("id")[before:])


def one_row(before: int, **expected) -> AuditEvent:
    rows = new_rows(before)
    assert [row.action for row in rows] == [expected["action"]]
    for name, value in expected.items():
        assert getattr(rows[0], name) == value, name
    return rows[0]


@pytest.fixture
def finance(db):
    return make_tenant(FINANCE, "Finance")


@pytest.fixture
def finance_admin(finance):
    from tests.conftest import make_actor

    return make_actor("finance-admin", "ADMIN", finance)


@pytest.fixture
def imported(admin, finance, finance_domain, finance_tenant):
    """The reference domain and tenant packs, imported (version 1.0.0 each)."""
    domain = packs_services.domain_pack_import(
        principal=admin.principal, content=finance_domain, version="1.0.0"
    ).pack
    tenant = packs_services.tenant_pack_import(
        principal=admin.principal, tenant_id=FINANCE, content=finance_tenant, version="1.0.0"
    ).pack
    return domain, tenant


def activate(actor, **kwargs):
    return config_services.config_activate(
        principal=actor.principal,
        tenant_id=FINANCE,
        domain_pack_version=kwargs.pop("domain_pack_version", "1.0.0"),
        tenant_pack_version=kwargs.pop("tenant_pack_version", "1.0.0"),
        **kwargs,
    )


def test_domain_pack_import__valid__one_pack_imported_row(admin, finance_domain):
    before = AuditEvent.objects.count()
    pack = packs_services.domain_pack_import(
        principal=admin.principal, content=finance_domain, version="1.0.0"
    ).pack
    one_row(
        before,
        action="pack.imported",
        actor=admin.username,
        tenant_id=None,
        object_type="domain_pack",
        object_id=str(pack.pk),
        domain=pack.domain,
        version="1.0.0",
        checksum=pack.checksum,
    )


def test_domain_pack_import__same_again__no_row(admin, finance_domain):
    packs_services.domain_pack_import(
        principal=admin.principal, content=finance_domain, version="1.0.0"
    )
    before = AuditEvent.objects.count()
    result = packs_services.domain_pack_import(
        principal=admin.principal, content=finance_domain, version="1.0.0"
    )
    assert result.created is False
    assert new_rows(before) == []


def test_domain_pack_import__other_content_same_version__one_rejected_row(admin, finance_domain):
    packs_services.domain_pack_import(
        principal=admin.principal, content=finance_domain, version="1.0.0"
    )
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError):
        packs_services.domain_pack_import(
            principal=admin.principal,
            content=dict(finance_domain, guardrails={}),
            version="1.0.0",
        )
    # Issue 15: every refused import is an audit row with its reason.
    row = one_row(before, action="pack.import_rejected", version="1.0.0")
    assert row.details["reason"] == "version_exists"


def test_domain_pack_import__invalid__one_rejected_row_with_the_errors(admin, finance_domain):
    broken = dict(finance_domain)
    del broken["exceptionTypes"]
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError) as err:
        packs_services.domain_pack_import(principal=admin.principal, content=broken, version="2")
    assert err.value.code == "pack_invalid"
    row = one_row(
        before,
        action="pack.import_rejected",
        actor=admin.username,
        object_type="domain_pack",
        domain=finance_domain["domainName"],
    )
    assert row.details["errors"]
    assert row.details["error_count"] == len(err.value.errors)


def test_domain_pack_import__tenant_admin__no_row(owner, finance_domain):
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError):
        packs_services.domain_pack_import(principal=owner.principal, content=finance_domain)
    assert new_rows(before) == []


def test_tenant_pack_import__valid__one_row_for_the_tenant(
    admin, finance, finance_domain, finance_tenant
):
    packs_services.domain_pack_import(
        principal=admin.principal, content=finance_domain, version="1.0.0"
    )
    before = AuditEvent.objects.count()
    pack = packs_services.tenant_pack_import(
        principal=admin.principal, tenant_id=FINANCE, content=finance_tenant, version="1.0.0"
    ).pack
    one_row(
        before,
        action="pack.imported",
        tenant_id=FINANCE,
        object_type="tenant_pack",
        object_id=str(pack.pk),
        version="1.0.0",
        checksum=pack.checksum,
    )


def test_tenant_pack_import__tenant_mismatch__one_rejected_row(
    admin, finance, tenant_a, finance_tenant
):
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError):
        packs_services.tenant_pack_import(
            principal=admin.principal, tenant_id="TENANT_A", content=finance_tenant
        )
    row = one_row(before, action="pack.import_rejected", tenant_id="TENANT_A")
    assert row.details["reason"] == "tenant_mismatch"


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=False)
def test_config_activate__approval_off__one_activated_row(admin, imported):
    domain, tenant = imported
    before = AuditEvent.objects.count()
    activate(admin)
    # The first activation promotes both DRAFT packs: a pack.status_changed row each.
    promotions = [row for row in new_rows(before) if row.action == "pack.status_changed"]
    assert [(row.object_id, row.details["after"]) for row in promotions] == [
        (str(domain.pk), {"status": "ACTIVE"}),
        (str(tenant.pk), {"status": "ACTIVE"}),
    ]
    before += len(promotions)
    row = one_row(
        before,
        action="config.activated",
        actor=admin.username,
        tenant_id=FINANCE,
        domain=domain.domain,
        version="1.0.0",
        checksum=domain.checksum,
    )
    assert row.details["after"]["tenant_pack_checksum"] == tenant.checksum
    assert row.details["before"]["revision"] == 0


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=False)
def test_config_activate__same_pair_again__no_row(admin, imported):
    activate(admin)
    before = AuditEvent.objects.count()
    activate(admin)
    assert new_rows(before) == []


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=False)
def test_config_activate__dry_run__no_row(admin, imported):
    before = AuditEvent.objects.count()
    activate(admin, dry_run=True)
    assert new_rows(before) == []


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=False)
def test_config_activate__unknown_version__no_row(admin, imported):
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError):
        activate(admin, domain_pack_version="9.9.9")
    assert new_rows(before) == []


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=False)
def test_config_rollback__previous_revision__one_activated_row(admin, imported, finance_domain):
    activate(admin)
    packs_services.domain_pack_import(
        principal=admin.principal, content=finance_domain | {"guardrails": {}}, version="1.1.0"
    )
    activate(admin, domain_pack_version="1.1.0")
    before = AuditEvent.objects.count()
    config_services.config_rollback(principal=admin.principal, tenant_id=FINANCE)
    row = one_row(before, action="config.activated", tenant_id=FINANCE, version="1.0.0")
    assert row.details["kind"] == "rollback"


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=True)
def test_config_activate__approval_on__one_requested_row_then_approval_rows(
    admin, second_admin, imported
):
    domain, _ = imported
    before = AuditEvent.objects.count()
    outcome = activate(admin)
    change_request = outcome.change_request
    one_row(
        before,
        action="config.activation_requested",
        actor=admin.username,
        tenant_id=FINANCE,
        object_id=str(change_request.pk),
        version="1.0.0",
        checksum=domain.checksum,
    )

    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError):  # self-approval
        config_services.change_request_approve(
            principal=admin.principal, change_request_id=change_request.pk
        )
    refused = one_row(before, action="change_request.review_refused", actor=admin.username)
    assert refused.details["code"] == "self_approval"

    before = AuditEvent.objects.count()

    config_services.change_request_approve(
        principal=second_admin.principal, change_request_id=change_request.pk
    )
    rows = new_rows(before)
    # Approval applies the change: the two DRAFT → ACTIVE promotions, the activation and the
    # review, each recorded once.
    assert [row.action for row in rows[:2]] == ["pack.status_changed"] * 2
    rows = rows[2:]
    assert [row.action for row in rows] == ["config.activated", "change_request.approved"]
    assert {row.actor for row in rows} == {second_admin.username}
    assert {row.tenant_id for row in rows} == {FINANCE}
    assert rows[0].checksum == domain.checksum


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=True)
@pytest.mark.parametrize(
    ("review", "action"),
    [("change_request_reject", "change_request.rejected"), ("change_request_cancel", None)],
)
def test_change_request_review__reject_or_cancel__one_row(
    admin, second_admin, imported, review, action
):
    change_request = activate(admin).change_request
    reviewer = second_admin if review == "change_request_reject" else admin
    before = AuditEvent.objects.count()
    getattr(config_services, review)(
        principal=reviewer.principal, change_request_id=change_request.pk
    )
    one_row(
        before,
        action=action or "change_request.cancelled",
        actor=reviewer.username,
        tenant_id=FINANCE,
        object_id=str(change_request.pk),
    )
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError):  # not pending any more
        getattr(config_services, review)(
            principal=reviewer.principal, change_request_id=change_request.pk
        )
    refused = one_row(before, action="change_request.review_refused", tenant_id=FINANCE)
    assert refused.details["code"] == "not_pending"


def test_change_request_approve__tenant_moved__one_stale_row(
    admin, second_admin, imported, finance_domain, finance
):
    with override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=True):
        change_request = activate(admin).change_request
    with override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=False):
        activate(admin)
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError) as err:
        config_services.change_request_approve(
            principal=second_admin.principal, change_request_id=change_request.pk
        )
    assert err.value.code == "stale_change_request"
    one_row(before, action="change_request.stale", tenant_id=FINANCE)


def _a_playbook_id(domain_pack) -> str:
    playbook = domain_pack.content_json["playbooks"][0]
    return playbook.get("playbookId") or playbook["exceptionType"]


@override_settings(PACK_ACTIVATION_REQUIRES_APPROVAL=False)
def test_playbook_link__create_and_delete__one_row_each(admin, imported):
    domain, _ = imported
    activate(admin)
    playbook_id = _a_playbook_id(domain)
    before = AuditEvent.objects.count()
    link = packs_services.playbook_link_create(
        principal=admin.principal, tenant_id=FINANCE, playbook_id=playbook_id
    )
    one_row(
        before,
        action="playbook.linked",
        tenant_id=FINANCE,
        object_id=playbook_id,
        version="1.0.0",
        checksum=domain.checksum,
    )
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError):  # link_exists
        packs_services.playbook_link_create(
            principal=admin.principal, tenant_id=FINANCE, playbook_id=playbook_id
        )
    assert new_rows(before) == []
    packs_services.playbook_link_delete(principal=admin.principal, link_id=link.pk)
    one_row(before, action="playbook.unlinked", tenant_id=FINANCE, object_id=playbook_id)
