"""Keyset pages of the audit list (issue 26): cursors on both doors, count estimates."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.test import override_settings

from audit import services
from audit.models import AuditEvent
from onboarding.events import DomainEvent
from tests.api.conftest import assert_problem
from tests.db_state import db_state
from tests.ui.conftest import HTML, browser

URL = "/admin/audit"
START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _append_at(monkeypatch, moment: datetime, **event) -> AuditEvent:
    monkeypatch.setattr(services.timezone, "now", lambda: moment)
    fields = {"action": "tenant.status_changed", "actor": "someone", "summary": "s", **event}
    return services.audit_append(DomainEvent(**fields), request_id="")


@pytest.fixture
def crowded(db, monkeypatch) -> list[AuditEvent]:
    """23 rows in groups of five sharing one timestamp (ties broken by id), two tenants."""
    rows = []
    for index in range(23):
        moment = START + timedelta(seconds=index // 5)
        tenant = "TENANT_A" if index % 3 else "TENANT_B"
        rows.append(_append_at(monkeypatch, moment, tenant_id=tenant, actor=f"user{index % 2}"))
    monkeypatch.undo()
    return rows


def _newest_first(rows: list[AuditEvent]) -> list[int]:
    return [row.pk for row in sorted(rows, key=lambda r: (r.occurred_at, r.pk), reverse=True)]


def _walk(client, params: dict, link: str = "next") -> tuple[list[int], list[dict]]:
    seen, bodies = [], []
    response = client.get(URL, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        bodies.append(body)
        seen += [row["id"] for row in body["results"]]
        if not body[link]:
            return seen, bodies
        response = client.get(body[link])


def test_audit_cursor__walk_forward__every_row_once_in_order_with_equal_timestamps(admin, crowded):
    seen, bodies = _walk(admin.client, {"page_size": 4})
    assert seen == _newest_first(crowded)
    assert len(bodies) == 6
    assert bodies[0]["previous"] is None and all(body["previous"] for body in bodies[1:])
    assert all(body["count"] == 23 and body["count_is_estimate"] is False for body in bodies)


def test_audit_cursor__walk_back_from_the_last_page__every_row_once(admin, crowded):
    _, bodies = _walk(admin.client, {"page_size": 4})
    seen = [row["id"] for row in bodies[-1]["results"]]
    link = bodies[-1]["previous"]
    while link:
        body = admin.client.get(link).json()
        seen = [row["id"] for row in body["results"]] + seen
        link = body["previous"]
    assert seen == _newest_first(crowded)


def test_audit_cursor__filters_and_time_window__kept_by_the_links(admin, crowded):
    since, until = START + timedelta(seconds=1), START + timedelta(seconds=4)
    params = {"page_size": 2, "tenant_id": "TENANT_A", "since": since.isoformat()}
    params["until"] = until.isoformat()
    seen, bodies = _walk(admin.client, params)
    expected = [
        row for row in crowded if row.tenant_id == "TENANT_A" and since <= row.occurred_at < until
    ]
    assert seen == _newest_first(expected)
    assert "tenant_id=TENANT_A" in bodies[0]["next"]


def test_audit_cursor__tenant_bound_principal__walks_only_its_tenant(member, crowded):
    seen, _ = _walk(member.client, {"page_size": 3})
    assert seen == _newest_first([row for row in crowded if row.tenant_id == "TENANT_A"])


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        signing.dumps(["n", 0, 1], salt="another.salt", compress=False),
        signing.dumps(["x", 0, 1], salt="audit.cursor", compress=False),
        signing.dumps(["n", "0", 1], salt="audit.cursor", compress=False),
        signing.dumps(["n", 10**20, 1], salt="audit.cursor", compress=False),
        signing.dumps({"n": 1}, salt="audit.cursor", compress=False),
    ],
    ids=["garbage", "other-salt", "direction", "type", "overflow", "shape"],
)
@pytest.mark.parametrize("door", ["api", "page"])
def test_audit_cursor__forged_or_malformed__400_invalid_cursor_nothing_written(
    admin, crowded, cursor, door
):
    before = db_state()
    if door == "api":
        response = admin.client.get(URL, {"cursor": cursor})
        assert_problem(response, 400, "invalid_cursor")
        assert response.json()["errors"][0]["path"] == "/cursor"
    else:
        response = browser(admin).get(URL, {"cursor": cursor}, **HTML)
        assert response.status_code == 400
    assert db_state() == before


def test_audit_cursor__edited_cursor__400_invalid_cursor(admin, crowded):
    link = admin.client.get(URL, {"page_size": 2}).json()["next"]
    cursor = link.split("cursor=")[1].split("&")[0]
    assert_problem(admin.client.get(URL, {"cursor": cursor[:-2] + "xx"}), 400, "invalid_cursor")


@pytest.mark.parametrize("page", ["2", "99"])
def test_audit_list__offset_page__400_invalid_page_use_the_cursor(admin, crowded, page):
    assert_problem(admin.client.get(URL, {"page": page}), 400, "invalid_page")


def test_audit_list__page_one__first_page(admin, crowded):
    body = admin.client.get(URL, {"page": "1", "page_size": 3}).json()
    assert [row["id"] for row in body["results"]] == _newest_first(crowded)[:3]


@pytest.mark.postgres
@override_settings(AUDIT_EXACT_COUNT_LIMIT=10)
def test_audit_count__more_matches_than_the_limit__planner_estimate(admin, crowded):
    body = admin.client.get(URL, {"tenant_id": "TENANT_A"}).json()
    assert body["count_is_estimate"] is True
    assert body["count"] >= 11
    unfiltered = admin.client.get(URL).json()
    assert unfiltered["count_is_estimate"] is True and unfiltered["count"] >= 11
    few = admin.client.get(URL, {"tenant_id": "TENANT_B"}).json()
    assert few == {**few, "count": 8, "count_is_estimate": False}


# --- the page door ------------------------------------------------------------------------------


def test_audit_page__older_and_newer_links__walk_without_javascript(admin, crowded, monkeypatch):
    for index in range(30):
        _append_at(monkeypatch, START + timedelta(minutes=5, seconds=index), tenant_id="TENANT_C")
    monkeypatch.undo()
    client = browser(admin)
    first = client.get(URL, {"tenant_id": "TENANT_C"}, **HTML).content.decode()
    older = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older, **HTML).content.decode()
    ids = [event.pk for event in AuditEvent.objects.filter(tenant_id="TENANT_C").order_by("-id")]
    assert f'href="/admin/audit/{ids[0]}"' in first
    assert f'href="/admin/audit/{ids[-1]}"' in second
    assert f'href="/admin/audit/{ids[-1]}"' not in first
    assert "30 rows" in first
    assert 'rel="prev"' not in first and "tenant_id=TENANT_C" in older
    newer = second.split('rel="prev" href="')[1].split('"')[0].replace("&amp;", "&")
    back = client.get(newer, **HTML).content.decode()
    assert f'href="/admin/audit/{ids[0]}"' in back and 'rel="prev"' not in back
