"""A lost database connection answers 503 with Retry-After on both doors, never a 500."""

import pytest
from django.db import OperationalError

import tenants.selectors


@pytest.fixture
def database_down(monkeypatch):
    def lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tenants.selectors, "tenant_list", lost)


def test_tenant_list__database_connection_lost__503_problem_with_retry_after(admin, database_down):
    response = admin.client.get("/admin/tenants")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "database_unavailable"


def test_tenant_list_page__database_connection_lost__503_page(admin, database_down, client):
    client.force_login(admin.user)
    response = client.get("/admin/tenants", HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert b"temporarily unavailable" in response.content
