"""GET /admin/audit: filters, tenant isolation, pagination and the streamed CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from audit.api import COLUMNS
from audit.models import AuditEvent
from audit.services import iso_utc
from packs.services import pack_set_status
from tenants.services import tenant_create, tenant_set_status
from tests.api.conftest import assert_problem

URL = "/admin/audit"


@pytest.fixture
def trail(admin, second_admin, owner, tenant_a, tenant_b, domain_pack) -> list[AuditEvent]:
    """Events of tenant A, tenant B, a new tenant C and a platform-wide domain pack."""
    tenant_set_status(principal=owner.principal, tenant_id="TENANT_A", status="SUSPENDED")
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_B", status="SUSPENDED")
    tenant_create(principal=second_admin.principal, tenant_id="TENANT_C", name="C")
    pack_set_status(
        principal=admin.principal,
        pack_type="domain",
        status="ACTIVE",
        domain=domain_pack.domain,
        version="1.0.0",
    )
    return list(AuditEvent.objects.order_by("id"))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def newest_first(rows: list[AuditEvent]) -> list[int]:
    return [row.pk for row in reversed(rows)]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_audit_list__url_name__audit_list():
    assert reverse("audit-list") == URL


def test_audit_list__platform_admin__all_events_newest_first_with_every_column(admin, trail):
    response = admin.client.get(URL)
    assert ids(response) == newest_first(trail)
    body = response.json()
    assert body["count"] == len(trail)
    row = body["results"][0]
    assert set(row) == set(COLUMNS)
    last = trail[-1]
    assert row["hash"] == last.hash
    assert row["prev_hash"] == last.prev_hash
    assert row["occurred_at"] == iso_utc(last.occurred_at)
    assert row["details"] == last.details


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tenant_id": "TENANT_A"}, lambda t: [t[0]]),
        ({"action": "tenant.created"}, lambda t: [t[2]]),
        ({"actor": "platform-admin-2"}, lambda t: [t[2]]),
        ({"object_type": "domain_pack"}, lambda t: [t[3]]),
        ({"domain": "CapitalMarketsTrading", "version": "1.0.0"}, lambda t: [t[3]]),
        ({"version": "9.9.9"}, lambda t: []),
        ({"action": "tenant.status_changed", "actor": "platform-admin"}, lambda t: [t[1]]),
        ({"tenant_id": ""}, lambda t: t),  # an empty form field is no filter
    ],
    ids=["tenant", "action", "actor", "object_type", "domain+version", "none", "and", "blank"],
)
def test_audit_list__exact_filter__only_matching_events(admin, trail, params, expected):
    assert ids(admin.client.get(URL, params)) == newest_first(expected(trail))


def test_audit_list__since_and_until__half_open_interval(admin, trail):
    since = iso_utc(trail[1].occurred_at)
    until = iso_utc(trail[3].occurred_at)
    assert ids(admin.client.get(URL, {"since": since})) == newest_first(trail[1:])
    assert ids(admin.client.get(URL, {"until": until})) == newest_first(trail[:3])
    assert ids(admin.client.get(URL, {"since": since, "until": until})) == newest_first(trail[1:3])


def test_audit_list__date_and_naive_times__read_as_utc(admin, trail):
    day = trail[0].occurred_at.date()
    tomorrow = (day + timedelta(days=1)).isoformat()
    assert ids(admin.client.get(URL, {"since": day.isoformat()})) == newest_first(trail)
    assert ids(admin.client.get(URL, {"since": tomorrow})) == []
    naive = trail[0].occurred_at.replace(tzinfo=None) - timedelta(hours=1)
    assert ids(admin.client.get(URL, {"since": naive.isoformat()})) == newest_first(trail)


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-13-01",
        "2026-01-01T25:00:00",
        "1700000000",
        "0001-01-01T00:00:00+05:00",
        "2026-01-01\x00",
    ],
)
def test_audit_list__time_not_iso_8601__400_invalid_filter(admin, trail, param, value):
    response = admin.client.get(URL, {param: value})
    assert_problem(response, 400, "invalid_filter")
    assert response.json()["errors"][0]["path"] == f"/{param}"
    assert AuditEvent.objects.count() == len(trail)


@pytest.mark.parametrize("param", ["tenant_id", "actor", "action", "version"])
def test_audit_list__nul_in_filter__400_invalid_filter(admin, trail, param):
    response = admin.client.get(URL, {param: "TENANT_A\x00"})
    assert_problem(response, 400, "invalid_filter")
    assert response.json()["errors"][0]["path"] == f"/{param}"


def test_audit_list__pagination__pages_of_the_requested_size(admin, trail):
    first = admin.client.get(URL, {"page_size": 3}).json()
    assert first["count"] == len(trail)
    assert [row["id"] for row in first["results"]] == newest_first(trail)[:3]
    assert first["next"] and first["previous"] is None
    second = admin.client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == newest_first(trail)[3:]


def test_audit_list__tenant_bound_viewer__only_its_tenant(member, trail):
    assert ids(member.client.get(URL)) == [trail[0].pk]


def test_audit_list__tenant_bound_admin_asks_for_another_tenant__nothing(owner, trail):
    assert ids(owner.client.get(URL, {"tenant_id": "TENANT_B"})) == []
    assert ids(owner.client.get(URL, {"object_type": "domain_pack"})) == []


def test_audit_list__outsider__only_tenant_b(outsider, trail):
    assert ids(outsider.client.get(URL)) == [trail[1].pk]


def test_audit_list__platform_viewer_with_tenant_header__narrowed(viewer, trail):
    response = viewer.client.get(URL, HTTP_X_TENANT_ID="TENANT_C")
    assert ids(response) == [trail[2].pk]


def test_audit_list__tenant_header_of_another_tenant__403(member, trail):
    assert_problem(
        member.client.get(URL, HTTP_X_TENANT_ID="TENANT_B"), 403, "tenant_context_mismatch"
    )


def test_audit_list__no_role__403(nobody, trail):
    assert_problem(nobody.client.get(URL), 403, "no_role")


def test_audit_list__anonymous__401(anon, trail):
    assert_problem(anon.get(URL), 401, "not_authenticated")


def test_audit_list__format_json__json(admin, trail):
    response = admin.client.get(URL, {"format": "json"})
    assert response["Content-Type"].startswith("application/json")
    assert ids(response) == newest_first(trail)


@pytest.mark.parametrize("value", ["AAA", "xml", "CSV"])
def test_audit_list__unknown_format__400_invalid_filter(admin, trail, value):
    response = admin.client.get(URL, {"format": value})
    assert_problem(response, 400, "invalid_filter")
    assert response.json()["errors"][0]["path"] == "/format"


def test_audit_list__page_zero__400_invalid_page(admin, trail):
    assert_problem(admin.client.get(URL, {"page": 0}), 400, "invalid_page")


def test_audit_list__format_csv__streamed_with_header_and_every_row(admin, trail):
    response = admin.client.get(URL, {"format": "csv"})
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == list(COLUMNS)
    assert [int(row[0]) for row in rows[1:]] == newest_first(trail)
    last = dict(zip(COLUMNS, rows[1], strict=True))
    assert last["hash"] == trail[-1].hash
    assert last["occurred_at"] == iso_utc(trail[-1].occurred_at)
    assert last["tenant_id"] == ""
    assert last["version"] == "1.0.0"


def test_audit_list__format_csv_from_a_browser__still_csv(admin, trail):
    admin.client.force_login(admin.user)
    response = admin.client.get(URL, {"format": "csv"}, HTTP_ACCEPT="text/html")
    assert len(read_csv(response)) == len(trail) + 1


def test_audit_list__format_csv_tenant_bound__only_its_tenant(member, trail):
    rows = read_csv(member.client.get(URL, {"format": "csv"}))
    assert [int(row[0]) for row in rows[1:]] == [trail[0].pk]


def test_audit_list__format_csv_with_filter__filtered(admin, trail):
    rows = read_csv(admin.client.get(URL, {"format": "csv", "action": "tenant.created"}))
    assert [int(row[0]) for row in rows[1:]] == [trail[2].pk]


def test_audit_list__format_csv_bad_filter__problem_json(admin, trail):
    assert_problem(admin.client.get(URL, {"format": "csv", "since": "soon"}), 400, "invalid_filter")


def test_audit_list__format_csv_anonymous__401(anon, trail):
    assert_problem(anon.get(URL, {"format": "csv"}), 401, "not_authenticated")


def test_audit_list__format_csv_many_rows__all_rows_across_chunks(admin, tenant_a, monkeypatch):
    monkeypatch.setattr("audit.api.CSV_CHUNK_ROWS", 3)
    for index in range(8):
        status = "SUSPENDED" if index % 2 == 0 else "ACTIVE"
        tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status=status)
    response = admin.client.get(URL, {"format": "csv"})
    chunks = list(response.streaming_content)
    assert len(chunks) >= 3
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8"))))
    assert len(rows) == 9


def test_audit_list__format_csv_formula_like_cell__neutralised(admin):
    tenant_create(principal=admin.principal, tenant_id="TENANT_F", name="=HYPERLINK(1)")
    rows = read_csv(admin.client.get(URL, {"format": "csv"}))
    summary = rows[1][COLUMNS.index("summary")]
    assert not summary.startswith("=")
    details = rows[1][COLUMNS.index("details")]
    assert '"name":"=HYPERLINK(1)"' in details


def test_audit_list__version_filter__also_finds_the_tenant_pack_activations(admin, db):
    """`version` is a pack version: the domain pack's own rows, and the activations and change
    requests that name it as their tenant pack (recorded in details)."""
    from governance.services import config_activate
    from tests.ui.conftest import seed_demo_packs

    seed_demo_packs()
    config_activate(
        principal=admin.principal,
        tenant_id="TENANT_FINANCE_001",
        domain="CapitalMarketsTrading",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    rows = admin.client.get(URL, {"version": "v1.4"}).json()["results"]
    # With the promotion of the DRAFT tenant pack v1.4, a row of its own (issue 15).
    assert sorted(row["action"] for row in rows) == [
        "config.activated",
        "pack.imported",
        "pack.status_changed",
    ]
    activation = next(row for row in rows if row["action"] == "config.activated")
    assert activation["version"] == "v3.2"  # the row's own column still names the domain pack
    csv_rows = read_csv(admin.client.get(URL, {"version": "v1.4", "format": "csv"}))
    assert len(csv_rows) == 1 + len(rows)
