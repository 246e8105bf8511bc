"""Decision impact where a decision is taken (DESIGN §14): the activation dry run, the rollback
preview, and GET /admin/config-changes/{id} (API and review page)."""

import copy
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from impact.models import ImpactRun
from impact.runs import IMPACT_QUEUE, pending_runs_recover
from impact.services import sample_set_replace
from onboarding.worker import drain
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tests.db_state import db_state
from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    assert_problem,
    domain_pack,
    rollback_url,
    tenant_pack,
)
from tests.ui.conftest import HTML, browser

# The worker's task loop (drain) commits and closes its connections, as the real worker does.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def active(tenant_a, admin, finance_domain, finance_tenant):
    """v3.2 + v1.4 active at revision 1; v3.3 raises CASH_BREAK to CRITICAL."""
    domain_pack(finance_domain)
    tenant_pack(finance_tenant)
    changed = copy.deepcopy(finance_domain)
    changed["severityRules"][1]["severity"] = "CRITICAL"
    changed["testSuites"].append(
        {"input": {"exceptionType": "CASH_BREAK", "rawPayload": {}}, "expectedOutput": {}}
    )
    domain_pack(changed, version="v3.3")
    body = {"tenant_id": "TENANT_A", "domain_pack_version": "v3.2", "tenant_pack_version": "v1.4"}
    assert admin.client.post(ACTIVATE_URL, body, format="json").status_code == 200
    return tenant_a


def _request(active, admin) -> str:
    active.require_activation_approval = True
    active.save()
    body = {"tenant_id": "TENANT_A", "domain_pack_version": "v3.3", "comment": "<b>raise</b>"}
    response = admin.client.post(ACTIVATE_URL, body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["change_request"]["id"]


@pytest.fixture
def requested(active, admin):
    """A PENDING request by `admin` to move TENANT_A to v3.3, its impact computed by the
    worker (queue `impact`)."""
    change_id = _request(active, admin)
    drain(queues=(IMPACT_QUEUE,))
    return change_id


@pytest.fixture
def requested_not_computed(active, admin):
    """The same request before the worker ran its impact."""
    return _request(active, admin)


def detail_url(change_id) -> str:
    return f"/admin/config-changes/{change_id}"


def test_dry_run__rule_raised__impact_lists_the_changed_sample(active, admin):
    body = {"tenant_id": "TENANT_A", "domain_pack_version": "v3.3", "dry_run": True}

    preview = admin.client.post(ACTIVATE_URL, body, format="json").json()

    impact = preview["impact"]
    assert impact["changed"] == 1 and impact["errors"] == 0 and impact["partial"] is False
    assert impact["changes"] == [
        {
            "source": "domain pack CapitalMarketsTrading v3.3 /testSuites/2",
            "exception_type": "CASH_BREAK",
            "before": {
                "severity": "HIGH",
                "playbook": impact["changes"][0]["before"]["playbook"],
                "approval": False,
            },
            "after": {
                "severity": "CRITICAL",
                "playbook": impact["changes"][0]["after"]["playbook"],
                "approval": True,
            },
        }
    ]
    assert TenantActiveConfig.objects.get().revision == 1


def test_rollback_dry_run__impact_from_current_to_earlier(active, admin):
    admin.client.post(
        ACTIVATE_URL, {"tenant_id": "TENANT_A", "domain_pack_version": "v3.3"}, format="json"
    )

    preview = admin.client.post(rollback_url(), {"dry_run": True}, format="json").json()

    change = preview["impact"]["changes"][0]
    assert (change["before"]["severity"], change["after"]["severity"]) == ("CRITICAL", "HIGH")


def test_change_request_get__tenant_reader__request_with_diff_and_impact(requested, member):
    response = member.client.get(detail_url(requested))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == requested and body["status"] == "PENDING"
    assert body["diff"]["changed"][0]["path"] == "/severityRules/1/severity"
    assert body["impact"]["changed"] == 1
    assert body["impact"]["changes"][0]["after"]["severity"] == "CRITICAL"


def test_change_request_get__outsider_or_unknown__404(requested, outsider, admin):
    assert_problem(outsider.client.get(detail_url(requested)), 404, "change_request_not_found")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_problem(admin.client.get(detail_url(missing)), 404, "change_request_not_found")


def test_change_request_get__after_approval__still_diffs_from_its_base(requested, second_admin):
    from tests.runtime_config.activation_helpers import review_url

    assert (
        second_admin.client.post(review_url("approve", requested), {}, format="json").status_code
        == 200
    )

    body = second_admin.client.get(detail_url(requested)).json()

    assert body["status"] == "APPLIED" and body["impact"]["changed"] == 1


def test_review_page__second_admin__diff_impact_and_forms_escaped(requested, second_admin, client):
    client.force_login(second_admin.user)

    response = client.get(detail_url(requested), HTTP_ACCEPT="text/html")

    page = response.content.decode()
    assert response.status_code == 200
    assert "/severityRules/1/severity" in page and "data-impact" in page
    assert "CRITICAL" in page and f'action="{detail_url(requested)}/approve"' in page
    assert f'action="{detail_url(requested)}/reject"' in page
    assert "/cancel" not in page  # only the requester cancels (DESIGN §14)
    assert "<b>raise</b>" not in page and "&lt;b&gt;raise&lt;/b&gt;" in page


def test_review_page__requester__no_approve_form(requested, admin, client):
    client.force_login(admin.user)

    page = client.get(detail_url(requested), HTTP_ACCEPT="text/html").content.decode()

    assert "/approve" not in page and "or a platform ADMIN must approve it" in page
    assert "/reject" not in page and f'action="{detail_url(requested)}/cancel"' in page


def test_review_page__approve_form__applies(requested, second_admin, client):
    client.force_login(second_admin.user)

    response = client.post(
        f"{detail_url(requested)}/approve", {"comment": "ok"}, HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 303
    assert ConfigChangeRequest.objects.get().status == "APPLIED"
    assert TenantActiveConfig.objects.get().domain_pack.version == "v3.3"


def test_change_list_page__pending_row__links_to_review(requested, second_admin, client):
    client.force_login(second_admin.user)

    page = client.get("/admin/config-changes", HTTP_ACCEPT="text/html").content.decode()

    assert page.count(f'href="{detail_url(requested)}"') == 2  # the Review link, the dialog's


def test_confirm_page__approve_without_js__links_to_review(requested, second_admin, client):
    import re

    client.force_login(second_admin.user)
    page = client.get("/admin/config-changes", HTTP_ACCEPT="text/html").content.decode()
    confirm = re.search(r'href="(/confirm\?c=[^"]+)"[^>]*>Approve<', page).group(1)

    response = client.get(confirm.replace("&amp;", "&"), HTTP_ACCEPT="text/html")

    assert f'href="{detail_url(requested)}"' in response.content.decode()


@pytest.fixture
def moved(active, admin):
    """TENANT_A moved on to v3.3 (revision 2)."""
    body = {"tenant_id": "TENANT_A", "domain_pack_version": "v3.3"}
    assert admin.client.post(ACTIVATE_URL, body, format="json").status_code == 200
    return active


def test_rollback_preview_page__earlier_revision__diff_impact_and_form(moved, admin, client):
    client.force_login(admin.user)

    response = client.get(rollback_url() + "?to_revision=1", HTTP_ACCEPT="text/html")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Confirm rollback" in page and "/severityRules/1/severity" in page
    assert "data-impact" in page and "CRITICAL" in page
    assert 'name="expected_revision" value="2"' in page
    assert TenantActiveConfig.objects.get().revision == 2


def test_rollback_preview_page__form__rolls_back(moved, admin, client):
    client.force_login(admin.user)
    form = {"to_revision": "1", "expected_revision": "2", "comment": "back"}

    response = client.post(rollback_url(), form, HTTP_ACCEPT="text/html")

    assert response.status_code == 303
    config = TenantActiveConfig.objects.get()
    assert config.revision == 3 and config.domain_pack.version == "v3.2"


def test_rollback_preview_page__stale_expected_revision__409_nothing_written(moved, admin, client):
    client.force_login(admin.user)
    form = {"to_revision": "1", "expected_revision": "1"}

    response = client.post(rollback_url(), form, HTTP_ACCEPT="text/html")

    assert response.status_code == 409
    assert TenantActiveConfig.objects.get().revision == 2


def test_rollback_preview_page__tenant_viewer__403(moved, member, client):
    client.force_login(member.user)

    response = client.get(rollback_url() + "?to_revision=1", HTTP_ACCEPT="text/html")

    assert response.status_code == 403


def test_tenant_page__rollback_dialog__links_to_its_preview(moved, admin, client):
    client.force_login(admin.user)

    page = client.get("/admin/tenants/TENANT_A", HTTP_ACCEPT="text/html").content.decode()

    assert 'href="/admin/tenants/TENANT_A/rollback?to_revision=1"' in page


@pytest.fixture
def global_switch_off(admin, second_admin):
    """A PENDING request by `admin` to switch the global approval setting off."""
    from governance.services import platform_settings_update
    from tenants.models import PlatformSettings

    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    change = platform_settings_update(principal=admin.principal, require_activation_approval=False)
    return ConfigChangeRequest.objects.get(kind="policy").pk if change else None


def test_review_page__global_policy_request__policy_text_and_approve_form(
    global_switch_off, second_admin, client
):
    client.force_login(second_admin.user)

    response = client.get(detail_url(global_switch_off), HTTP_ACCEPT="text/html")

    page = response.content.decode()
    assert response.status_code == 200
    assert "global activation approval → not required" in page
    assert "platform-wide setting" in page and "/admin/tenants/None" not in page
    assert f'action="{detail_url(global_switch_off)}/approve"' in page
    assert 'id="review-impact"' not in page


def test_review_page__global_policy_request__tenant_admin__404(global_switch_off, owner, client):
    client.force_login(owner.user)

    response = client.get(detail_url(global_switch_off), HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert ConfigChangeRequest.objects.get().status == "PENDING"


# --- issue 25 item 3: the impact runs on the worker, once; reads never compute it --------------


def test_change_request_get__before_the_worker_ran__pending_then_ready(
    requested_not_computed, member
):
    url = detail_url(requested_not_computed)
    assert ImpactRun.objects.count() == 1  # requested with the change request, in its transaction
    before = db_state()
    first = member.client.get(url).json()["impact"]
    assert first["status"] == "pending" and first["changes"] == [] and first["evaluated"] is None
    assert db_state() == before  # a read neither computes nor writes
    drain(queues=(IMPACT_QUEUE,))
    ready = member.client.get(url).json()["impact"]
    assert ready["status"] == "ready" and ready["changed"] == 1 and ready["computed_at"]
    assert ready["budget_ms"] > 0


def test_review_page__before_the_worker_ran__says_pending_and_polls(
    requested_not_computed, second_admin, client
):
    page = browser(second_admin).get(detail_url(requested_not_computed), **HTML)
    html = page.content.decode()
    assert page.status_code == 200
    assert "data-impact-pending" in html and 'hx-trigger="every 2s"' in html
    assert "Computing the decision impact on the worker" in html


def test_change_request_get__partial_run__stored_with_its_budget_and_never_recomputed(
    active, admin, member, settings
):
    """A run that exceeds its budget (`partial: true`) is stored like a complete one: every
    later read shows that run (same `computed_at`), none starts another."""
    settings.IMPACT_TIME_BUDGET_MS = 1  # at least one sample runs, then the budget is out
    change_id = _request(active, admin)
    drain(queues=(IMPACT_QUEUE,))
    reads = [member.client.get(detail_url(change_id)).json()["impact"] for _ in range(3)]
    assert reads[0]["status"] == "ready" and reads[0]["budget_ms"] == 1
    run = ImpactRun.objects.get()
    assert run.partial is reads[0]["partial"]
    assert len({read["computed_at"] for read in reads}) == 1
    assert ImpactRun.objects.count() == 1
    assert not DBTaskResult.objects.filter(queue_name=IMPACT_QUEUE, status="READY").exists()


def test_change_request_get__sample_set_replaced__new_run_requested_on_the_worker(
    requested, member, owner
):
    """The impact depends on the tenant's samples: a new set is a new run, computed on the
    worker; the read in between says pending instead of computing it."""
    sample_set_replace(
        principal=owner.principal,
        tenant_id="TENANT_A",
        data=b'{"exception_type": "CASH_BREAK", "payload": {}}\n',
    )
    assert member.client.get(detail_url(requested)).json()["impact"]["status"] == "pending"
    drain(queues=(IMPACT_QUEUE,))
    impact = member.client.get(detail_url(requested)).json()["impact"]
    assert impact["status"] == "ready" and impact["sources"]["tenant"] == 1
    assert ImpactRun.objects.count() == 2


def test_review__viewer_reloads_past_the_impact_limit__never_429_never_computes(
    requested, member, settings
):
    """Review reads of a pack change are primary-key reads of the stored run: no longer an
    expensive endpoint, so no impact rate limit (a dry run keeps it)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "impact": "2/m"}
    runs = list(ImpactRun.objects.values_list("pk", "finished_at"))
    for _ in range(5):
        assert member.client.get(detail_url(requested)).status_code == 200
        page = browser(member).get(detail_url(requested), **HTML)
        assert page.status_code == 200 and b"data-impact-pending" not in page.content
    assert list(ImpactRun.objects.values_list("pk", "finished_at")) == runs


def test_recovery__run_whose_task_was_lost__enqueued_again_and_computed(
    requested_not_computed, member
):
    """A run still PENDING a minute after it was requested lost its task (a removed task row,
    a worker that died mid-run): the worker's recovery step enqueues it again."""
    DBTaskResult.objects.filter(queue_name=IMPACT_QUEUE).delete()
    assert pending_runs_recover() == 0  # not stale yet
    ImpactRun.objects.update(requested_at=timezone.now() - timedelta(minutes=2))
    assert pending_runs_recover() == 1
    drain(queues=(IMPACT_QUEUE,))
    impact = member.client.get(detail_url(requested_not_computed)).json()["impact"]
    assert impact["status"] == "ready" and impact["changed"] == 1
    assert pending_runs_recover() == 0
