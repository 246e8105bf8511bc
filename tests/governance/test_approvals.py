import pytest

from governance import signals as governance_signals
from governance.services import activation_requires_approval, tenant_set_approval_policy
from packs.models import PackStatus, TenantPack
from runtime_config import signals
from runtime_config.models import ActivationHistory, ConfigChangeRequest, TenantActiveConfig
from tenants.models import Tenant
from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    SETUP,
    assert_problem,
    counts,
    domain_pack,
    review_url,
    tenant_pack,
)


@pytest.fixture
def packs(tenant_a, finance_domain, finance_tenant):
    return domain_pack(finance_domain), tenant_pack(finance_tenant)


@pytest.fixture
def approval_on(settings):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True


def request_activation(actor, **body):
    body = {"tenant_id": "TENANT_A", "domain_pack_version": "v3.2", **body}
    return actor.client.post(ACTIVATE_URL, {"tenant_pack_version": "v1.4", **body}, format="json")


def pending(actor, **body) -> str:
    response = request_activation(actor, **body)
    assert response.status_code == 202, response.content
    return response.json()["change_request"]["id"]


class Recorder:
    def __init__(self, *signal_list):
        self.events = []
        self.signal_list = signal_list

    def __call__(self, sender, event, **kwargs):
        self.events.append(event)

    def __enter__(self):
        for signal in self.signal_list:
            signal.connect(self)
        return self

    def __exit__(self, *exc):
        for signal in self.signal_list:
            signal.disconnect(self)


# --- policy --------------------------------------------------------------------------------


def test_policy__tenant_unset__follows_global_setting(tenant_a, settings):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    assert activation_requires_approval(tenant_a) is True
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = False
    assert activation_requires_approval(tenant_a) is False


def test_policy__tenant_override__wins_over_setting(tenant_a, settings):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    tenant_a.require_activation_approval = False
    assert activation_requires_approval(tenant_a) is False
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = False
    tenant_a.require_activation_approval = True
    assert activation_requires_approval(tenant_a) is True


def test_activate__approval_off__applies_immediately(admin, packs):
    response = request_activation(admin)
    assert response.status_code == 200
    assert counts() == (1, 1, 0)


def test_activate__global_approval__202_pending_and_config_untouched(admin, packs, approval_on):
    with Recorder(
        governance_signals.config_activation_requested, signals.config_activated
    ) as recorder:
        response = request_activation(admin, comment="please")
    assert response.status_code == 202, response.content
    change = response.json()["change_request"]
    assert change["status"] == "PENDING"
    assert change["tenant_id"] == "TENANT_A"
    assert change["domain"] == "CapitalMarketsTrading"
    assert change["domain_pack_version"] == "v3.2"
    assert change["tenant_pack_version"] == "v1.4"
    assert change["tenant_pack_checksum"] == packs[1].checksum
    assert change["base_revision"] == 0
    assert change["requested_by"] == admin.username
    assert change["requested_at"]
    assert change["comment"] == "please"
    row = ConfigChangeRequest.objects.get()
    assert (row.domain_pack, row.tenant_pack, row.kind) == (packs[0], packs[1], "activate")
    assert counts() == (0, 0, 1)
    assert [e.action for e in recorder.events] == ["config.activation_requested"]
    assert TenantPack.objects.get().status == PackStatus.DRAFT


def test_activate__tenant_override_on__202_even_with_setting_off(admin, packs):
    tenant_set_approval_policy(
        principal=SETUP, tenant_id="TENANT_A", require_activation_approval=True
    )
    assert request_activation(admin).status_code == 202


def test_activate__tenant_override_off__applies_with_setting_on(admin, packs, approval_on):
    # Stored before the global setting went on (switching it off now is a change request).
    Tenant.objects.filter(pk="TENANT_A").update(require_activation_approval=False)
    assert request_activation(admin).status_code == 200


def test_activate__approval_required__request_field_cannot_skip_policy(admin, packs, approval_on):
    response = request_activation(admin, require_approval=False)
    assert_problem(response, 400, "unknown_field")
    assert counts() == (0, 0, 0)


def test_activate__approval_on_and_request_equals_current__200_unchanged_no_request(
    admin, packs, settings
):
    request_activation(admin)
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    response = request_activation(admin)
    assert response.status_code == 200
    assert response.json()["changed"] is False
    assert counts() == (1, 1, 0)


# --- approve -------------------------------------------------------------------------------


def test_approve__second_admin__applies_with_change_request_on_history(
    admin, second_admin, packs, approval_on
):
    change_id = pending(admin)
    with Recorder(governance_signals.change_request_approved, signals.config_activated) as recorder:
        response = second_admin.client.post(
            review_url("approve", change_id), {"comment": "ok"}, format="json"
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["change_request"]["status"] == "APPLIED"
    assert body["change_request"]["reviewed_by"] == second_admin.username
    assert body["change_request"]["review_comment"] == "ok"
    assert body["active_config"]["revision"] == 1
    assert body["active_config"]["active_tenant_pack_version"] == "v1.4"
    config = TenantActiveConfig.objects.get()
    assert config.activated_by == second_admin.username
    history = ActivationHistory.objects.get()
    assert str(history.change_request_id) == change_id
    assert sorted(e.action for e in recorder.events) == [
        "change_request.approved",
        "config.activated",
    ]
    assert TenantPack.objects.get().status == PackStatus.ACTIVE


def test_approve__tenant_admin_not_requester__applies(admin, owner, packs, approval_on):
    change_id = pending(admin)
    response = owner.client.post(review_url("approve", change_id), {}, format="json")
    assert response.status_code == 200


def test_approve__by_requester__self_approval(admin, packs, approval_on):
    change_id = pending(admin)
    response = admin.client.post(review_url("approve", change_id), {}, format="json")
    assert_problem(response, 403, "self_approval")
    assert counts() == (0, 0, 1)
    assert ConfigChangeRequest.objects.get().status == "PENDING"


def test_approve__viewer__403_and_stays_pending(admin, viewer, member, packs, approval_on):
    change_id = pending(admin)
    for actor in (viewer, member):
        response = actor.client.post(review_url("approve", change_id), {}, format="json")
        assert_problem(response, 403, "admin_required")
    assert ConfigChangeRequest.objects.get().status == "PENDING"


def test_approve__already_applied__not_pending(admin, second_admin, packs, approval_on):
    change_id = pending(admin)
    second_admin.client.post(review_url("approve", change_id), {}, format="json")
    response = second_admin.client.post(review_url("approve", change_id), {}, format="json")
    assert_problem(response, 409, "not_pending")
    assert counts() == (1, 1, 1)


def test_approve__revision_moved__stale_committed_and_409(
    admin, second_admin, owner, packs, approval_on, finance_tenant
):
    first = pending(admin)
    tenant_pack(finance_tenant, version="v1.5")
    # The configuration moves by another path (a policy stored behind the API's back: a second
    # request through the API would supersede the first one instead).
    Tenant.objects.filter(pk="TENANT_A").update(require_activation_approval=False)
    assert request_activation(owner, tenant_pack_version="v1.5").status_code == 200
    with Recorder(governance_signals.change_request_stale, signals.config_activated) as recorder:
        response = second_admin.client.post(review_url("approve", first), {}, format="json")
    body = assert_problem(response, 409, "stale_change_request")
    assert body["errors"]
    assert ConfigChangeRequest.objects.get(pk=first).status == "STALE"
    assert [e.action for e in recorder.events] == ["change_request.stale"]
    config = TenantActiveConfig.objects.get()
    assert (config.revision, config.tenant_pack.version) == (1, "v1.5")


def test_approve__pack_deprecated_meanwhile__rechecked_and_refused(
    admin, second_admin, packs, approval_on
):
    """Stored behind the API's back (the API refuses it: pack_pending_approval): the request
    ends STALE with the reason instead of refusing every approval forever."""
    change_id = pending(admin)
    TenantPack.objects.filter(pk=packs[1].pk).update(status=PackStatus.DEPRECATED)
    response = second_admin.client.post(review_url("approve", change_id), {}, format="json")
    assert_problem(response, 409, "pack_deprecated")
    assert counts() == (0, 0, 1)
    change = ConfigChangeRequest.objects.get()
    assert change.status == "STALE"
    assert change.status_reason.startswith("pack_deprecated:")
    again = second_admin.client.post(review_url("approve", change_id), {}, format="json")
    assert_problem(again, 409, "not_pending")


def test_approve__tenant_suspended_meanwhile__tenant_suspended(
    admin, second_admin, packs, approval_on, tenant_a
):
    change_id = pending(admin)
    tenant_a.status = "SUSPENDED"
    tenant_a.save()
    response = second_admin.client.post(review_url("approve", change_id), {}, format="json")
    assert_problem(response, 409, "tenant_suspended")
    assert counts() == (0, 0, 1)


def test_approve__incompatible_pair__rechecks_compatibility(
    admin, second_admin, packs, approval_on, acme_domain
):
    """A change request pointing at an incompatible pair (stored behind the API's back) is
    refused at approval: approval re-runs every activation check."""
    acme = domain_pack(acme_domain, version="v4.0")
    change = ConfigChangeRequest.objects.create(
        tenant_id="TENANT_A",
        domain="CapitalMarketsTrading",
        domain_pack=acme,
        tenant_pack=packs[1],
        base_revision=0,
        requested_by=admin.username,
    )
    response = second_admin.client.post(review_url("approve", change.pk), {}, format="json")
    body = assert_problem(response, 409, "incompatible_packs")
    assert len(body["errors"]) > 2
    assert counts() == (0, 0, 1)


def test_approve__unknown_id__404(second_admin, packs):
    response = second_admin.client.post(
        review_url("approve", "00000000-0000-0000-0000-000000000000"), {}, format="json"
    )
    assert_problem(response, 404, "change_request_not_found")


def test_approve__unknown_field__400(admin, second_admin, packs, approval_on):
    change_id = pending(admin)
    response = second_admin.client.post(
        review_url("approve", change_id), {"comentt": "x"}, format="json"
    )
    assert_problem(response, 400, "unknown_field")
    assert ConfigChangeRequest.objects.get().status == "PENDING"


# --- reject and cancel ---------------------------------------------------------------------


def test_reject__tenant_admin__rejected_nothing_applied(admin, owner, packs, approval_on):
    change_id = pending(admin)
    with Recorder(governance_signals.change_request_rejected) as recorder:
        response = owner.client.post(
            review_url("reject", change_id), {"comment": "not now"}, format="json"
        )
    assert response.status_code == 200, response.content
    change = response.json()["change_request"]
    assert (change["status"], change["reviewed_by"]) == ("REJECTED", owner.username)
    assert [e.action for e in recorder.events] == ["change_request.rejected"]
    assert counts() == (0, 0, 1)
    response = owner.client.post(review_url("approve", change_id), {}, format="json")
    assert_problem(response, 409, "not_pending")


def test_cancel__requester__cancelled(owner, packs, approval_on):
    change_id = pending(owner)
    with Recorder(governance_signals.change_request_cancelled) as recorder:
        response = owner.client.post(review_url("cancel", change_id), {}, format="json")
    assert response.status_code == 200
    assert response.json()["change_request"]["status"] == "CANCELLED"
    assert len(recorder.events) == 1
    assert counts() == (0, 0, 1)


def test_cancel__other_admin__403_not_requester_and_still_pending(owner, admin, packs, approval_on):
    change_id = pending(owner)
    response = admin.client.post(review_url("cancel", change_id), {}, format="json")
    assert_problem(response, 403, "not_requester")
    assert ConfigChangeRequest.objects.get().status == "PENDING"


def test_cancel__viewer__403(owner, member, packs, approval_on):
    change_id = pending(owner)
    response = member.client.post(review_url("cancel", change_id), {}, format="json")
    assert_problem(response, 403, "admin_required")
    assert ConfigChangeRequest.objects.get().status == "PENDING"


def test_cancel__twice__not_pending(owner, packs, approval_on):
    change_id = pending(owner)
    owner.client.post(review_url("cancel", change_id), {}, format="json")
    response = owner.client.post(review_url("cancel", change_id), {}, format="json")
    assert_problem(response, 409, "not_pending")


# --- list ----------------------------------------------------------------------------------


def test_list__filters_and_isolation(admin, owner, outsider, packs, approval_on, tenant_b):
    rejected = pending(admin)
    owner.client.post(review_url("reject", rejected), {}, format="json")
    pending(admin)
    response = admin.client.get("/admin/config-changes?status=PENDING")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["results"][0]["status"] == "PENDING"
    assert admin.client.get("/admin/config-changes?tenant_id=TENANT_A").json()["count"] == 2
    assert owner.client.get("/admin/config-changes").json()["count"] == 2
    assert outsider.client.get("/admin/config-changes").json()["count"] == 0
    assert outsider.client.get("/admin/config-changes?tenant_id=TENANT_A").json()["count"] == 0


def test_list__bad_status_filter__400(admin, packs):
    response = admin.client.get("/admin/config-changes?status=NOPE")
    assert_problem(response, 400, "invalid_filter")
