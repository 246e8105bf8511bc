"""The project's own views: the API docs pages and the CSRF failure view (issue 13, item 9)."""

import pytest
from django.test import Client

from tests.api.conftest import assert_problem
from tests.db_state import db_state

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", ["text/html", "*/*", ""])
@pytest.mark.parametrize("url", ["/api/docs/", "/api/docs/?script", "/api/schema/"])
def test_docs__anonymous_options__204_with_allow_not_500(url, accept):
    response = Client().options(url, HTTP_ACCEPT=accept)
    assert response.status_code in (200, 204), response.content[:300]
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/schema/"])
@pytest.mark.parametrize("accept", ["text/html", "application/json", "application/xml"])
def test_docs__refused_request__problem_json(url, accept):
    response = Client().delete(url, HTTP_ACCEPT=accept)
    expected = {405: "method_not_allowed", 406: "not_acceptable"}
    assert_problem(response, response.status_code, expected.get(response.status_code, "?"))


def test_docs__browser_get__swagger_page():
    response = Client().get("/api/docs/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_unknown_path__browser__styled_404_page_even_with_debug(client, settings, db):
    settings.DEBUG = True
    response = client.get("/no/such/page", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'class="card error-page"' in body and "No resource at /no/such/page" in body


def test_unknown_path__rest_client__404_problem(client, db):
    response = client.get("/no/such/page", HTTP_ACCEPT="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "get"])
@pytest.mark.parametrize("path", ["/admin/no-such-thing", "/nope", "/admin/tenants/x/y/z"])
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_unknown_path__token_authenticated_write__404_not_found_not_csrf(
    admin, method, path, accept
):
    """Issue 25 item 7: the catch-all 404 answered a token-authenticated POST with 403
    csrf_failed (Django's CSRF check ran before the 404 view). Nothing lives there: 404, and
    nothing written, whatever the method, door or credentials."""
    client = Client(enforce_csrf_checks=True)
    before = db_state()
    body = {} if method == "get" else {"data": b'{"a": 1}', "content_type": "application/json"}
    response = getattr(client, method)(
        path, HTTP_AUTHORIZATION=f"Token {admin.token}", HTTP_ACCEPT=accept, **body
    )
    assert response.status_code == 404, response.content[:300]
    if accept == "application/json":
        assert_problem(response, 404, "not_found")
    assert db_state() == before


def test_unknown_path__session_post_without_csrf_token__404(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    response = client.post("/admin/no-such-thing", HTTP_ACCEPT="application/json")
    assert_problem(response, 404, "not_found")
