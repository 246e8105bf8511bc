"""Text PostgreSQL cannot store (NUL, lone surrogates) never reaches a query (issue 13, item 4).

Every route of the RBAC matrix (so a new route is covered as soon as it has its row there) is
called through each door — REST, browser page, htmx partial — with a NUL in each path segment,
in a query parameter, in each string of its JSON body and in each field of a form body. The
answer is a 404 for a path and a 400 with the code and the parameter's path otherwise, never a
500 (PostgreSQL's DataError) nor a quiet success (SQLite), and nothing is written."""

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from tests.api import test_rbac_matrix as matrix
from tests.api.conftest import PROBLEM, assert_problem, send
from tests.api.test_rbac_matrix import PAGE_ONLY, TABLE, Row, state

world = matrix.world  # the matrix's fixture: TENANT_A live, a pending change, a link

NUL = "a\x00b"
DOORS = {
    "api": {},
    "page": {"HTTP_ACCEPT": "text/html,application/xhtml+xml"},
    "htmx": {"HTTP_ACCEPT": "text/html", "HTTP_HX_REQUEST": "true"},
}


@pytest.fixture
def session(admin) -> Client:
    client = Client()
    client.force_login(admin.user)
    return client


def _url(row: Row, world: dict) -> str:
    return reverse(row.url_name, kwargs=row.kwargs(world)) + row.query


def _assert_refused(response, door: str, status: int, code: str) -> None:
    # ?format=json|csv is an explicit choice of the REST representation, even for a browser.
    if door == "page" and "format=" not in response.wsgi_request.GET.urlencode():
        assert response.status_code == status, response.content[:300]
        assert response["Content-Type"].startswith("text/html")
        assert b"<h1>" in response.content
    else:
        assert response["Content-Type"] == PROBLEM, (response.status_code, response.content[:300])
        assert_problem(response, status, code)


PATH_CASES = [
    pytest.param(row, name, door, id=f"{row.id}-{name}-{door}")
    for row in TABLE
    for name in row.kwargs(
        {
            "change_id": "c",
            "link_id": 1,
            "webhook_id": 1,
            "delivery_id": 1,
            "carol_binding_id": 1,
            "carol_token_id": 1,
            "rollout_id": 1,
            "audit_event_id": 1,
        }
    )
    for door in DOORS
]


@pytest.mark.parametrize(("row", "name", "door"), PATH_CASES)
def test_route__nul_in_path_segment__404_and_nothing_written(world, session, row, name, door):
    value = str(row.kwargs(world)[name])
    url = _url(row, world).replace(value, "a%00b", 1)
    before = state()
    response = send(session, row.method, url, row.body(world) if row.body else None, **DOORS[door])
    _assert_refused(response, door, 404, "not_found")
    assert state() == before


QUERY_CASES = [
    pytest.param(row, door, id=f"{row.id}-{door}") for row in TABLE for door in DOORS
] + [
    pytest.param(Row(name, "GET", {}, query="?tab=tenant"), door, id=f"{name}-{door}")
    for name in sorted(PAGE_ONLY)
    for door in ("page", "htmx")
]


@pytest.mark.parametrize(("row", "door"), QUERY_CASES)
def test_route__nul_in_query_parameter__400_invalid_filter(world, session, row, door):
    url = reverse(row.url_name, kwargs=row.kwargs(world)) + (row.query or "?")
    for name, value in (("tenant_id", NUL), ("search", NUL), ("pa\x00ge", "1")):
        before = state()
        query = f"{'&' if '=' in url else ''}{_quote(name)}={_quote(value)}"
        body = row.body(world) if row.body else None
        response = send(session, row.method, url + query, body, **DOORS[door])
        _assert_refused(response, door, 400, "invalid_filter")
        if door != "page":
            paths = [item["path"] for item in response.json()["errors"]]
            assert paths == ["/" + name.replace("\x00", "\\u0000")]
        assert state() == before


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _strings(value: Any, path: str = "") -> list[str]:
    """JSON Pointers of the strings of a request body outside pack documents (`content`)."""
    if isinstance(value, dict):
        return [
            pointer
            for key, item in value.items()
            if key != "content"
            for pointer in _strings(item, f"{path}/{key}")
        ]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _strings(item, f"{path}/{index}")]
    return [path] if isinstance(value, str) else []


def _replace(body: Any, pointer: str, value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    *parents, last = pointer.strip("/").split("/")
    target = copy
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[int(last) if isinstance(target, list) else last] = value
    return copy


BODY_ROWS = [row for row in TABLE if row.body and not row.content_type]
LINES_ROWS = [row for row in TABLE if row.content_type]


@pytest.mark.parametrize("row", BODY_ROWS, ids=lambda row: row.id)
def test_route__nul_in_json_string__400_invalid_string_at_its_path(world, session, row):
    body = row.body(world)
    for bad in (NUL, "a\ud800b"):
        cases = [(pointer, _replace(body, pointer, bad)) for pointer in _strings(body)]
        for pointer, payload in cases or [("/comment", {**body, "comment": bad})]:
            before, rejections = state(), _rejections()
            raw = json.dumps(payload).encode()  # ASCII: the NUL and the surrogate as escapes
            response = send(session, row.method, _url(row, world), raw=raw)
            problem = assert_problem(response, 400, "invalid_string")
            assert problem["errors"][0]["path"] == pointer, problem
            _assert_unchanged_but_refusal_row(row, before, rejections)


_IMPORT_ROUTES = {"domain-pack-import", "tenant-pack-import"}


def _rejections() -> int:
    return AuditEvent.objects.filter(action="pack.import_rejected").count()


def _assert_unchanged_but_refusal_row(row: Row, before: dict, rejections: int) -> None:
    """Nothing written, except that a refused import is an audit row of its reason (issue 15),
    which the snapshot leaves out (tests/db_state.py) and this counts."""
    assert state() == before
    assert _rejections() == rejections + (row.url_name in _IMPORT_ROUTES)
    if row.url_name in _IMPORT_ROUTES:
        last = AuditEvent.objects.latest("id")
        assert (last.action, last.details["reason"]) == ("pack.import_rejected", "invalid_string")


@pytest.mark.parametrize("row", LINES_ROWS, ids=lambda row: row.id)
def test_route__nul_in_json_lines_string__400_names_the_line_and_path(world, session, row):
    """A JSON Lines body (the sample set): each line passes the strict intake, so a NUL or a lone
    surrogate is `invalid_string` at its path inside the line it is on."""
    for bad in ("\\u0000", "\\ud800"):
        before = state()
        raw = row.body(world) + '{"exception_type": "X", "payload": {"k": "a' + bad + 'b"}}\n'
        call = getattr(session, row.method.lower())
        response = call(_url(row, world), data=raw.encode(), content_type=row.content_type)
        problem = assert_problem(response, 400, "invalid_samples")
        assert problem["errors"][0]["code"] == "invalid_string", problem
        assert problem["errors"][0]["path"] == "/lines/2/payload/k", problem
        assert state() == before


FORM_CASES = [
    pytest.param(row, door, id=f"{row.id}-{door}")
    for row in TABLE
    if row.method != "GET"
    for door in DOORS
]


@pytest.mark.parametrize(("row", "door"), FORM_CASES)
def test_route__nul_in_form_field__400_invalid_string(world, session, row, door):
    """The page door's forms (tenant name, status reason, activation comment, tenant ids, ...)
    and any urlencoded body: the field is named in the problem, whatever the view."""
    body = row.body(world) if row.body and not row.content_type else {}
    fields = {key: value for key, value in body.items() if isinstance(value, str)}
    for name in [*fields, "comment", "reason", "name"]:
        before = state()
        data = {**fields, name: NUL}
        encoded = "&".join(f"{_quote(key)}={_quote(value)}" for key, value in data.items())
        call = getattr(session, row.method.lower())
        response = call(
            _url(row, world),
            data=encoded,
            content_type="application/x-www-form-urlencoded",
            **DOORS[door],
        )
        _assert_refused(response, door, 400, "invalid_string")
        if door != "page":
            assert [item["path"] for item in response.json()["errors"]] == [f"/{name}"]
        assert state() == before


def test_route__nul_in_multipart_field__400_invalid_string(world, session):
    before = state()
    response = session.post(
        reverse("tenant-list"),
        {"tenant_id": "NEW_TENANT", "name": NUL},
        HTTP_HX_REQUEST="true",
    )
    assert_problem(response, 400, "invalid_string")
    assert state() == before


@pytest.mark.parametrize("door", DOORS)
def test_route__nul_in_tenant_header__400_invalid_tenant_id(world, session, door):
    response = session.get(reverse("tenant-list"), HTTP_X_TENANT_ID=NUL, **DOORS[door])
    _assert_refused(response, door, 400, "invalid_tenant_id")


def test_token__nul_in_authorization__401_not_500(world):
    response = Client().get(reverse("tenant-list"), HTTP_AUTHORIZATION="Token " + "\x00" * 40)
    assert_problem(response, 401, "authentication_failed")


@pytest.mark.parametrize("door", ["api", "page"])
def test_session_cookie__nul__treated_as_no_session(world, door):
    """A quoted cookie may carry octal escapes: "\\000..." reaches the session lookup as NUL."""
    client = Client()
    client.cookies["sessionid"] = "\x00" * 32
    response = client.get(reverse("tenant-list"), **DOORS[door])
    if door == "api":
        assert_problem(response, 401, "not_authenticated")
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login")


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_import__multipart_without_boundary__400_malformed_body(world, admin, content_type):
    before = state()

    response = admin.client.generic(
        "POST", "/admin/packs/domain/import", b"--x\r\n", content_type=content_type
    )

    assert_problem(response, 400, "malformed_body")
    assert state() == before


def test_page__multipart_without_boundary__400_error_page(world, session):
    before = state()

    response = session.generic(
        "POST",
        "/admin/packs/domain/import",
        b"--x\r\n",
        content_type="multipart/form-data",
        HTTP_ACCEPT="text/html",
    )

    assert response.status_code == 400
    assert b"malformed_body" in response.content
    assert state() == before
