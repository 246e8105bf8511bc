"""The two doors of a path (onboarding/doors.py): which one answers, what caches are told, and
that the URLconf alone says which paths serve pages."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from onboarding.doors import wants_html
from tests.ui.conftest import browser

PAGE = "text/html"
API = "application/json"


def _patterns(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def test_urlconf__every_admin_path__declares_a_page_door():
    """DESIGN §5: every /admin path answers browsers too, and says so where it is declared."""
    admin_paths = [
        (route, p) for route, p in _patterns(get_resolver()) if route.startswith("admin/")
    ]
    assert len(admin_paths) > 20
    missing = [route for route, p in admin_paths if not callable(getattr(p.callback, "page", None))]
    assert missing == []


def test_urlconf__page_only_paths__are_exactly_the_pages_without_api():
    page_only = sorted(
        route
        for route, p in _patterns(get_resolver())
        if callable(getattr(p.callback, "page", None)) and p.callback.api is None
    )
    # "" is the home page (what needs the signed-in person), a page for browsers only.
    assert page_only == ["", "admin/packs", "confirm", "ops"]


@pytest.mark.parametrize(
    ("query", "headers", "door"),
    [
        ("", {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}, PAGE),
        ("", {"HTTP_ACCEPT": "application/json;q=0.5, text/html"}, PAGE),
        ("", {"HTTP_ACCEPT": "text/html;q=0.2, application/json"}, API),
        ("", {"HTTP_ACCEPT": "*/*", "HTTP_HX_REQUEST": "true"}, PAGE),
        ("", {"HTTP_ACCEPT": "*/*"}, API),
        ("", {"HTTP_ACCEPT": "application/json"}, API),
        ("", {}, API),
        ("?format=json", {"HTTP_ACCEPT": "text/html", "HTTP_HX_REQUEST": "true"}, API),
    ],
)
def test_two_doors__negotiation__chooses_page_or_api(admin, query, headers, door):
    client = browser(admin)
    response = client.get("/admin/tenants" + query, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(door)


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_two_doors__either_door__varies_on_accept_and_hx_request(admin, accept):
    response = browser(admin).get("/admin/tenants", HTTP_ACCEPT=accept)
    vary = {item.strip().lower() for item in response["Vary"].split(",")}
    assert {"accept", "hx-request"} <= vary


def test_page_only__browser__gets_the_page_with_vary(admin, db):
    response = browser(admin).get("/ops", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "accept" in response["Vary"].lower()


def test_two_doors__api_write_with_token_and_no_csrf__not_refused_by_csrf(admin):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {admin.token}")
    response = client.post(
        "/admin/tenants",
        {"tenant_id": "T_TOKEN", "name": "Token"},
        content_type="application/json",
    )
    assert response.status_code == 201


def test_wants_html__csv_format__goes_to_the_api(rf):
    request = rf.get("/admin/audit?format=csv", HTTP_ACCEPT="text/html", HTTP_HX_REQUEST="true")
    assert wants_html(request) is False
