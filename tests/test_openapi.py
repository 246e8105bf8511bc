"""The OpenAPI document describes every operation with its problem+json errors, and Swagger UI is
served offline under the strict CSP."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

PROBLEM = "application/problem+json"

# (path, method) of every operation of the tenant and pack API.
OPERATIONS = [
    ("/admin/tenants", "get"),
    ("/admin/tenants", "post"),
    ("/admin/tenants/{tenant_id}", "get"),
    ("/admin/tenants/{tenant_id}", "patch"),
    ("/admin/tenants/{tenant_id}/status", "patch"),
    ("/admin/packs/domain/import", "post"),
    ("/admin/packs/tenant/import", "post"),
    ("/admin/packs/validate", "post"),
    ("/admin/packs/domain", "get"),
    ("/admin/packs/domain/{domain}/{version}", "get"),
    ("/admin/packs/domain/{domain}/{version}/status", "patch"),
    ("/admin/packs/domain/{domain}/diff", "get"),
    ("/admin/packs/tenant/{tenant_id}", "get"),
    ("/admin/packs/tenant/{tenant_id}/{version}", "get"),
    ("/admin/packs/tenant/{tenant_id}/{version}/status", "patch"),
    ("/admin/packs/tenant/{tenant_id}/diff", "get"),
    ("/admin/packs/schema/{pack_type}", "get"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_schema__operation__documented_with_problem_errors(schema, path, method):
    operation = schema["paths"][path][method]
    responses = operation["responses"]
    success = [code for code in responses if code.startswith("2")]
    assert success, operation
    for code in success:
        assert "application/json" in responses[code]["content"]
    assert PROBLEM in responses["401"]["content"]
    # Every operation refuses a NUL in a query parameter with 400 invalid_filter.
    assert PROBLEM in responses["400"]["content"]
    if method != "get":
        assert "requestBody" in operation


def test_schema__pack_rows__no_content_in_list_rows(schema):
    components = schema["components"]["schemas"]
    assert "content_json" not in components["PackOutput"]["properties"]
    assert "content_json" in components["PackDetailOutput"]["properties"]
    assert {"code", "errors", "status", "type"} <= set(components["Problem"]["properties"])


def test_schema_endpoint__served_as_json(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/admin/packs/domain/import" in response.json()["paths"]


def test_swagger_ui__offline_assets_and_strict_script_policy(client, db):
    response = client.get(reverse("swagger-ui"))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert script_src.strip() == "'self'"
    html = response.content.decode()
    assert "<script>" not in html  # no inline script: the CSP would block it
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [s for s in sources if s.endswith((".js", ".css"))]
    assert assets and all(s.startswith("/static/") for s in assets), sources
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    init = [s for s in sources if "script" in s and not s.endswith(".js")]
    assert init, sources
    script = client.get(init[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
