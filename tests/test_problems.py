"""Every error either door can produce is RFC 9457 problem+json (DESIGN §5, issue 4 item 3)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import assert_problem, send


def test_anonymous__401_not_authenticated_with_challenge(anon):
    response = anon.get(reverse("tenant-list"))
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token__401_authentication_failed(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_problem(client.get(reverse("tenant-list")), 401, "authentication_failed")


def test_no_role__403_no_role(nobody):
    assert_problem(nobody.client.get(reverse("domain-pack-list")), 403, "no_role")


@pytest.mark.parametrize(
    "path", ["/admin/nothing", "/admin/packs/domain/a/b/c/d", "/admin/tenants/", "/nothing"]
)
def test_unknown_path__404_problem(admin, path):
    assert_problem(admin.client.get(path), 404, "not_found")


def test_unknown_path_anonymous__404_problem(anon):
    assert_problem(anon.get("/admin/unknown"), 404, "not_found")


def test_wrong_method__405_problem(admin):
    assert_problem(admin.client.delete(reverse("tenant-list")), 405, "method_not_allowed")
    assert_problem(admin.client.get(reverse("domain-pack-import")), 405, "method_not_allowed")


def test_unacceptable_accept__406_problem(admin):
    response = admin.client.get(reverse("tenant-list"), HTTP_ACCEPT="application/xml")
    assert_problem(response, 406, "not_acceptable")


def test_json_for_rest_clients__accept_variants(admin):
    for accept in ("application/json", "*/*", ""):
        response = admin.client.get(reverse("tenant-list"), HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"].startswith("application/json")
    forced = admin.client.get(reverse("tenant-list") + "?format=json", HTTP_ACCEPT="text/html")
    assert forced.status_code == 200 and forced["Content-Type"].startswith("application/json")


def test_tenant_context_header_of_other_tenant__403(owner):
    response = owner.client.get(reverse("tenant-list"), HTTP_X_TENANT_ID="TENANT_B")
    assert_problem(response, 403, "tenant_context_mismatch")


def test_tenant_context_header_with_nul__400(admin):
    response = admin.client.get(reverse("tenant-list"), HTTP_X_TENANT_ID="A\x00B")
    assert_problem(response, 400, "invalid_tenant_id")


def test_query_with_nul__400_not_500(admin):
    response = admin.client.get(reverse("tenant-list") + "?search=a%00b")
    assert_problem(response, 400, "invalid_filter")


def test_path_with_nul__404_not_500(admin):
    assert_problem(admin.client.get("/admin/packs/domain/a%00/v1.0"), 404, "not_found")
    # in the query it is a bad parameter, like ?search= above
    url = "/admin/packs/domain/X/diff?from=a%00&to=v1"
    assert_problem(admin.client.get(url), 400, "invalid_filter")


def test_healthz__ok_without_auth_and_405_for_post(anon, db):
    response = anon.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["status"] in ("ok", "degraded")
    assert response.json()["database"] == "ok"
    assert_problem(anon.post(reverse("healthz")), 405, "method_not_allowed")


def test_body_over_envelope__413_before_parsing(admin, settings):
    settings.PACK_MAX_BYTES = 1024
    raw = b'{"x": "' + b"a" * (1024 + 256 * 1024 + 10) + b'"}'
    response = send(admin.client, "POST", reverse("domain-pack-import"), raw=raw)
    assert_problem(response, 413, "too_large")
