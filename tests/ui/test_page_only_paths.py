import pytest


@pytest.mark.parametrize("path", ["/admin/packs", "/ops"])
def test_page_only_path__rest_client__406_problem_naming_the_api(admin, path):
    response = admin.client.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_acceptable"
    assert "/admin/packs/domain" in body["detail"] or "/ops/exceptions/evaluate" in body["detail"]


@pytest.mark.parametrize("path", ["/admin/packs", "/ops"])
def test_page_only_path__anonymous_browser__redirected_to_login(client, path):
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert response["Location"].startswith("/login")
