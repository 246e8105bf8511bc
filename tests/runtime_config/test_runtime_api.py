"""GET /runtime/tenants/{id}/config and POST /ops/exceptions/evaluate over real HTTP."""

import pytest
from django.urls import reverse

from runtime_config import health
from runtime_config.models import TenantActiveConfig
from runtime_config.runtime import invalidate
from tenants.services import tenant_set_status
from tests.conftest import make_actor
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    activate_direct,
    assert_problem,
    make_finance_tenant,
    store_domain,
    store_tenant,
    tamper_domain_pack,
)

EVALUATE = "/ops/exceptions/evaluate"


def config_url(tenant_id: str = FINANCE) -> str:
    return reverse("runtime-config", kwargs={"tenant_id": tenant_id})


@pytest.fixture(autouse=True)
def fresh_cache():
    invalidate()
    yield
    invalidate()
    health.reset()


@pytest.fixture
def finance(db, finance_domain, finance_tenant):
    tenant = make_finance_tenant()
    domain_pack = store_domain(finance_domain)
    tenant_pack = store_tenant(finance_tenant)
    activate_direct(FINANCE, domain_pack, tenant_pack)
    return tenant, domain_pack, tenant_pack


@pytest.fixture
def finance_viewer(finance):
    return make_actor("finance-viewer", "VIEWER", finance[0])


# --- config ----------------------------------------------------------------------------------


def test_config__platform_viewer__effective_config_with_etag(finance, viewer):
    _, domain_pack, tenant_pack = finance
    response = viewer.client.get(config_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-cache"
    assert response["ETag"].startswith('"')
    body = response.json()
    assert body["tenant_id"] == FINANCE
    assert body["revision"] == 1
    assert body["domain_pack"] == {
        "domain": "CapitalMarketsTrading",
        "version": "v3.2",
        "checksum": domain_pack.checksum,
    }
    assert body["tenant_pack"] == {"version": "v1.4", "checksum": tenant_pack.checksum}
    assert body["config"]["severityOverrides"]["SEC_MASTER_MISMATCH"] == "LOW"


def test_config__if_none_match_current__304_without_body(finance, finance_viewer):
    etag = finance_viewer.client.get(config_url())["ETag"]
    response = finance_viewer.client.get(config_url(), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    weak = finance_viewer.client.get(config_url(), HTTP_IF_NONE_MATCH=f'"x", W/{etag}')
    assert weak.status_code == 304


def test_config__after_activation__etag_changes_and_old_one_gets_200(
    finance, viewer, finance_domain, django_capture_on_commit_callbacks
):
    etag = viewer.client.get(config_url())["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        activate_direct(FINANCE, store_domain(finance_domain, "v3.3"), finance[2])
    response = viewer.client.get(config_url(), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.json()["domain_pack"]["version"] == "v3.3"


def test_config__other_tenants_admin__404(finance, outsider):
    response = outsider.client.get(config_url())
    assert_problem(response, 404, "tenant_not_found")


def test_config__no_role__403(finance, nobody):
    assert_problem(nobody.client.get(config_url()), 403, "no_role")


def test_config__anonymous__401(finance, anon):
    assert_problem(anon.get(config_url(), HTTP_ACCEPT="application/json"), 401, "not_authenticated")


def test_config__no_active_config__404(db, viewer):
    make_finance_tenant()
    assert_problem(viewer.client.get(config_url()), 404, "no_active_config")


def test_config__unknown_tenant__404(db, viewer):
    assert_problem(viewer.client.get(config_url("NOPE")), 404, "tenant_not_found")


def test_config__suspended_tenant__409(finance, viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    assert_problem(viewer.client.get(config_url()), 409, "tenant_suspended")


def test_config__cached__only_authentication_queries(
    finance, viewer, settings, django_assert_max_num_queries
):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    viewer.client.get(config_url())
    with django_assert_max_num_queries(1):  # the token, with its user and role bindings
        assert viewer.client.get(config_url()).status_code == 200


def test_config__invalid_token__401(finance, anon):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert_problem(anon.get(config_url()), 401, "authentication_failed")


def test_config__inactive_user__401(finance, finance_viewer):
    finance_viewer.user.is_active = False
    finance_viewer.user.save()
    assert_problem(finance_viewer.client.get(config_url()), 401, "authentication_failed")


def test_config__tenant_bound_with_other_tenant_header__403(finance, finance_viewer, tenant_b):
    response = finance_viewer.client.get(config_url(), HTTP_X_TENANT_ID="TENANT_B")
    assert_problem(response, 403, "tenant_context_mismatch")


def test_config__role_revoked__403_on_next_request(finance, finance_viewer):
    assert finance_viewer.client.get(config_url()).status_code == 200
    finance_viewer.user.role_bindings.all().delete()
    assert_problem(finance_viewer.client.get(config_url()), 403, "no_role")


# --- evaluate --------------------------------------------------------------------------------


def post(actor, body):
    return actor.client.post(EVALUATE, body, format="json")


def test_evaluate__settlement_fail__high_domain_rule_no_approval(finance, finance_viewer):
    response = post(
        finance_viewer,
        {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL", "payload": {"orderId": "1"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["severity"] == "HIGH"
    assert body["requires_approval"] is False
    assert body["playbook"]["exceptionType"] == "SETTLEMENT_FAIL"
    assert body["explanation"]["severity"]["rule"]["index"] == 2
    assert "domain rule #2" in body["explanation"]["summary"]


def test_evaluate__position_break__critical_approval(finance, viewer):
    body = post(viewer, {"tenant_id": FINANCE, "exception_type": "POSITION_BREAK"}).json()
    assert (body["severity"], body["requires_approval"]) == ("CRITICAL", True)


def test_evaluate__unknown_exception_type__400(finance, viewer):
    response = post(viewer, {"tenant_id": FINANCE, "exception_type": "NOPE", "payload": {}})
    body = assert_problem(response, 400, "unknown_exception_type")
    assert body["errors"][0]["path"] == "/exception_type"


def test_evaluate__unknown_field__400(finance, viewer):
    response = post(
        viewer, {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL", "paylod": {}}
    )
    body = assert_problem(response, 400, "unknown_field")
    assert body["errors"][0]["path"] == "/paylod"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"exception_type": "SETTLEMENT_FAIL"}, "/tenant_id"),
        ({"tenant_id": FINANCE}, "/exception_type"),
        ({"tenant_id": FINANCE, "exception_type": 5}, "/exception_type"),
        ({"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL", "payload": [1]}, "/payload"),
    ],
)
def test_evaluate__invalid_body__400_with_path(finance, viewer, body, path):
    response = post(viewer, body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert path in [error["path"] for error in response.json()["errors"]]


def test_evaluate__other_tenant__404(finance, outsider):
    response = post(outsider, {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL"})
    assert_problem(response, 404, "tenant_not_found")


def test_evaluate__no_active_config__404(db, viewer):
    make_finance_tenant()
    response = post(viewer, {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL"})
    assert_problem(response, 404, "no_active_config")


def test_evaluate__suspended__409(finance, viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    response = post(viewer, {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL"})
    assert_problem(response, 409, "tenant_suspended")


def test_evaluate__writes_nothing(finance, viewer):
    before = list(TenantActiveConfig.objects.values())
    post(viewer, {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL"})
    assert list(TenantActiveConfig.objects.values()) == before


def test_schema__documents_both_operations(db, viewer):
    response = viewer.client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/runtime/tenants/{tenant_id}/config" in text
    assert "/ops/exceptions/evaluate" in text


def test_config_and_evaluate__tampered_pack__503_and_healthz_degraded(finance, viewer, client):
    tamper_domain_pack(finance[1])
    assert_problem(viewer.client.get(config_url()), 503, "config_integrity_failure")
    response = post(viewer, {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL"})
    assert_problem(response, 503, "config_integrity_failure")
    health = client.get("/healthz").json()
    assert (health["status"], health["runtime"]) == ("degraded", "degraded")
    assert health["integrity_failures"] >= 1
