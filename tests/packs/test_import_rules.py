"""Issue 15 item 7: the body's and the content's `version` agree, every refused import is an
audit row with its reason (and nothing else is written), activation promotions are
`pack.status_changed` rows, and identical content under a new version answers a warning."""

import json

import pytest

from audit.models import AuditEvent
from packs.canonical import checksum
from packs.models import DomainPack, TenantPack
from packs.services import domain_pack_import, tenant_pack_import
from tests.api.conftest import FINANCE, assert_problem, send
from tests.conftest import load_reference
from tests.db_state import db_state
from tests.ui.conftest import HTMX, browser

DOMAIN_IMPORT = "/admin/packs/domain/import"
TENANT_IMPORT = "/admin/packs/tenant/import"


def _finance_domain(**extra) -> dict:
    return {**load_reference("domain_capital_markets.json"), **extra}


def _changed_domain() -> dict:
    content = _finance_domain()
    content["severityRules"][0]["severity"] = "LOW"
    return content


def _tenant(tenant_id: str = "TENANT_A", **extra) -> dict:
    return {**load_reference("tenant_finance_001.json"), "tenantId": tenant_id, **extra}


def _audit_tail(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("id")[before:])


def _assert_only_refusal(before: int, counts: dict, reason: str, **fields) -> AuditEvent:
    """Nothing written but one `pack.import_rejected` row naming the reason."""
    assert db_state() == counts
    rows = _audit_tail(before)
    assert [(row.action, row.details.get("reason")) for row in rows] == [
        ("pack.import_rejected", reason)
    ], [(row.action, row.details) for row in rows]
    for name, value in fields.items():
        assert getattr(rows[0], name) == value, (name, getattr(rows[0], name))
    return rows[0]


def _assert_nothing_written(before: int, counts: dict) -> None:
    assert db_state() == counts
    assert AuditEvent.objects.count() == before


@pytest.fixture
def mark():
    """(audit rows, row counts) before the request under test."""

    def take():
        return AuditEvent.objects.count(), db_state()

    return take


# --- 1. version in the body and in the content ---


def test_domain_import_api__body_and_content_versions_differ__400_version_mismatch(admin, mark):
    before, counts = mark()
    response = send(
        admin.client,
        "POST",
        DOMAIN_IMPORT,
        {"content": _finance_domain(version="v2.0"), "version": "v5.0"},
    )
    body = assert_problem(response, 400, "version_mismatch")
    assert "v5.0" in body["detail"] and "v2.0" in body["detail"]
    assert {item["path"] for item in body["errors"]} == {"/version", "/content/version"}
    row = _assert_only_refusal(before, counts, "version_mismatch", domain=FINANCE, tenant_id=None)
    assert row.version == "v5.0"


def test_tenant_import_api__body_and_content_versions_differ__400_version_mismatch(
    owner, mark, finance_domain
):
    domain_pack_import(principal=_system(), content=finance_domain, version="v3.2")
    before, counts = mark()
    response = send(
        owner.client,
        "POST",
        TENANT_IMPORT,
        {"tenant_id": "TENANT_A", "content": _tenant(version="v2.0"), "version": "v5.0"},
    )
    assert_problem(response, 400, "version_mismatch")
    _assert_only_refusal(before, counts, "version_mismatch", tenant_id="TENANT_A")


def test_domain_import_page__body_and_content_versions_differ__400_version_mismatch(admin, mark):
    before, counts = mark()
    response = browser(admin).post(
        DOMAIN_IMPORT,
        {"content": json.dumps(_finance_domain(version="v2.0")), "version": "v5.0"},
        **HTMX,
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "version_mismatch" in text and "v5.0" in text and "v2.0" in text
    _assert_only_refusal(before, counts, "version_mismatch")


def test_domain_import__versions_equal_by_parse__stored_under_the_content_spelling(admin):
    content = _finance_domain(version="2.0")
    result = domain_pack_import(principal=admin.principal, content=content, version="v2.0")
    assert result.created and result.pack.version == "2.0"
    assert result.pack.content_json["version"] == "2.0"


def test_domain_import__only_body_version__content_stored_as_sent_under_it(admin):
    content = _finance_domain()
    result = domain_pack_import(principal=admin.principal, content=content, version="v5.0")
    assert result.pack.version == "v5.0"
    # The document claims no version, so none other than the row's; its checksum is the sender's.
    assert "version" not in result.pack.content_json
    assert result.pack.checksum == checksum(content)


def test_domain_import__only_content_version__used(admin):
    result = domain_pack_import(principal=admin.principal, content=_finance_domain(version="v2.1"))
    assert result.pack.version == "v2.1"


# --- 2. every refusal is an audit row with its reason ---


def test_domain_import_api__domain_mismatch__400_refusal_recorded(admin, mark):
    before, counts = mark()
    response = send(
        admin.client, "POST", DOMAIN_IMPORT, {"content": _finance_domain(), "domain": "Other"}
    )
    assert_problem(response, 400, "domain_mismatch")
    row = _assert_only_refusal(before, counts, "domain_mismatch")
    assert row.actor == admin.username and row.details["errors"] == response.json()["errors"]


def test_tenant_import_api__tenant_mismatch__400_refusal_recorded(owner, mark):
    before, counts = mark()
    response = send(
        owner.client,
        "POST",
        TENANT_IMPORT,
        {"tenant_id": "TENANT_A", "content": _tenant("TENANT_OTHER")},
    )
    assert_problem(response, 400, "tenant_mismatch")
    _assert_only_refusal(before, counts, "tenant_mismatch", tenant_id="TENANT_A")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"content": {"domainName": "X", "n": NaN}}', "invalid_number"),
        (b'{"content": {"domainName": "X"', "malformed_json"),
        (b'{"content": {"a": 1, "a": 2}}', "duplicate_key"),
    ],
)
def test_domain_import_api__unreadable_body__400_refusal_recorded(admin, mark, raw, code):
    before, counts = mark()
    response = send(admin.client, "POST", DOMAIN_IMPORT, raw=raw)
    assert_problem(response, 400, code)
    _assert_only_refusal(before, counts, code, tenant_id=None)


def test_tenant_import_api__nan_in_content__400_refusal_recorded(owner, mark):
    before, counts = mark()
    raw = b'{"tenant_id": "TENANT_A", "content": {"tenantId": "TENANT_A", "x": Infinity}}'
    response = send(owner.client, "POST", TENANT_IMPORT, raw=raw)
    assert_problem(response, 400, "invalid_number")
    # The body could not be read, so no tenant is known: the row is the platform's only.
    _assert_only_refusal(before, counts, "invalid_number", tenant_id=None)


def test_tenant_import_api__bad_version_field__400_refusal_recorded_under_the_tenant(owner, mark):
    before, counts = mark()
    response = send(
        owner.client,
        "POST",
        TENANT_IMPORT,
        {"tenant_id": "TENANT_A", "content": _tenant(), "version": "not a version"},
    )
    assert_problem(response, 400, "invalid_version")
    _assert_only_refusal(before, counts, "invalid_version", tenant_id="TENANT_A")


def test_tenant_import_api__unknown_tenant_platform_admin__404_recorded_without_tenant(admin, mark):
    before, counts = mark()
    response = send(
        admin.client, "POST", TENANT_IMPORT, {"tenant_id": "NOPE", "content": _tenant("NOPE")}
    )
    assert_problem(response, 404, "tenant_not_found")
    row = _assert_only_refusal(before, counts, "tenant_not_found", tenant_id=None)
    assert row.details["requested_tenant_id"] == "NOPE"


def test_import_api__version_exists__409_refusal_recorded(admin, mark):
    domain_pack_import(principal=admin.principal, content=_finance_domain(), version="v1.0")
    before, counts = mark()
    response = send(
        admin.client,
        "POST",
        DOMAIN_IMPORT,
        {"content": _changed_domain(), "version": "v1.0"},
    )
    assert_problem(response, 409, "version_exists")
    _assert_only_refusal(before, counts, "version_exists", version="v1.0")


def test_domain_import_page__unreadable_upload__400_refusal_recorded(admin, mark):
    before, counts = mark()
    response = browser(admin).post(DOMAIN_IMPORT, {"content": '{"a": NaN}'}, **HTMX)
    assert response.status_code == 400 and "invalid_number" in response.content.decode()
    _assert_only_refusal(before, counts, "invalid_number")


def test_tenant_import_page__tenant_mismatch__400_refusal_recorded(owner, mark):
    before, counts = mark()
    response = browser(owner).post(
        TENANT_IMPORT,
        {"tenant_id": "TENANT_A", "content": json.dumps(_tenant("TENANT_B"))},
        **HTMX,
    )
    assert response.status_code == 400 and "tenant_mismatch" in response.content.decode()
    _assert_only_refusal(before, counts, "tenant_mismatch", tenant_id="TENANT_A")


def test_tenant_import_api__other_tenant__404_nothing_written(outsider, tenant_a, mark):
    before, counts = mark()
    response = send(
        outsider.client,
        "POST",
        TENANT_IMPORT,
        {"tenant_id": "TENANT_A", "content": _tenant(version="v1.0"), "version": "v9.0"},
    )
    assert_problem(response, 404, "tenant_not_found")
    _assert_nothing_written(before, counts)


def test_tenant_import_api__other_tenant_unreadable_body__400_nothing_under_that_tenant(
    outsider, tenant_a, mark
):
    before, counts = mark()
    raw = b'{"tenant_id": "TENANT_A", "content": {"tenantId": "TENANT_A"}, "version": 5}'
    response = send(outsider.client, "POST", TENANT_IMPORT, raw=raw)
    assert response.status_code == 400
    _assert_nothing_written(before, counts)


def test_tenant_import_api__viewer__403_nothing_written(member, mark):
    before, counts = mark()
    response = send(
        member.client,
        "POST",
        TENANT_IMPORT,
        {"tenant_id": "TENANT_A", "content": _tenant("TENANT_B")},
    )
    assert_problem(response, 403, "admin_required")
    _assert_nothing_written(before, counts)


@pytest.mark.parametrize("who", ["anon", "nobody", "viewer"])
def test_domain_import_api__unauthorised_unreadable_body__nothing_written(db, request, who, mark):
    actor = request.getfixturevalue(who)
    client = actor if who == "anon" else actor.client
    before, counts = mark()
    response = send(client, "POST", DOMAIN_IMPORT, raw=b'{"content": {"a": NaN}}')
    assert response.status_code in (400, 401, 403)
    _assert_nothing_written(before, counts)


def test_domain_import_api__viewer_domain_mismatch__403_nothing_written(viewer, mark):
    before, counts = mark()
    response = send(
        viewer.client, "POST", DOMAIN_IMPORT, {"content": _finance_domain(), "domain": "Other"}
    )
    assert_problem(response, 403, "platform_admin_required")
    _assert_nothing_written(before, counts)


# --- 3. promotions by activation are pack.status_changed ---


def test_activation__draft_packs_promoted__status_changed_rows(admin, tenant_a):
    domain = domain_pack_import(
        principal=admin.principal, content=_finance_domain(), version="v3.2"
    )
    tenant = tenant_pack_import(
        principal=admin.principal, tenant_id="TENANT_A", content=_tenant(), version="v1.4"
    )
    before = AuditEvent.objects.count()
    response = admin.client.post(
        "/admin/packs/activate",
        {"tenant_id": "TENANT_A", "domain_pack_version": "v3.2", "tenant_pack_version": "v1.4"},
        format="json",
    )
    assert response.status_code == 200, response.content
    rows = _audit_tail(before)
    changed = [row for row in rows if row.action == "pack.status_changed"]
    assert [(row.object_type, row.object_id, row.version) for row in changed] == [
        ("domain_pack", str(domain.pack.pk), "v3.2"),
        ("tenant_pack", str(tenant.pack.pk), "v1.4"),
    ]
    for row in changed:
        assert row.details["before"] == {"status": "DRAFT"}
        assert row.details["after"] == {"status": "ACTIVE"}
        assert row.details["cause"]["kind"] == "activate"
        assert row.details["cause"]["revision"] == 1
    assert changed[1].tenant_id == "TENANT_A"
    assert [row.action for row in rows][-1] == "config.activated"
    # Activating again promotes nothing: no further status rows.
    before = AuditEvent.objects.count()
    tenant_pack_import(
        principal=admin.principal,
        tenant_id="TENANT_A",
        content={**_tenant(), "approvedTools": _tenant()["approvedTools"][:-1]},
        version="v1.5",
    )
    admin.client.post(
        "/admin/packs/activate",
        {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.5"},
        format="json",
    )
    changed = [r for r in _audit_tail(before) if r.action == "pack.status_changed"]
    assert [row.version for row in changed] == ["v1.5"]


# --- 4. identical content under a new version ---


def test_domain_import_api__same_content_new_version__201_duplicate_content_warning(admin):
    content = _finance_domain()
    first = send(admin.client, "POST", DOMAIN_IMPORT, {"content": content, "version": "v1.0"})
    assert first.status_code == 201
    assert not [
        w for w in first.json()["validation"]["warnings"] if w["code"] == "duplicate_content"
    ]
    again = send(admin.client, "POST", DOMAIN_IMPORT, {"content": content, "version": "v2.0"})
    assert again.status_code == 201
    duplicate = [
        w for w in again.json()["validation"]["warnings"] if w["code"] == "duplicate_content"
    ]
    assert len(duplicate) == 1 and "v1.0" in duplicate[0]["message"]
    assert DomainPack.objects.filter(checksum=checksum(content)).count() == 2
    assert any(w["code"] == "duplicate_content" for w in again.json()["validation_warnings"])


def test_tenant_import__same_content_new_version__duplicate_warning_names_that_version(
    admin, tenant_a, tenant_b
):
    domain_pack_import(principal=admin.principal, content=_finance_domain(), version="v3.2")
    tenant_pack_import(
        principal=admin.principal, tenant_id="TENANT_A", content=_tenant(), version="v1.0"
    )
    # Another tenant's identical document is another pack: no warning there.
    other = tenant_pack_import(
        principal=admin.principal,
        tenant_id="TENANT_B",
        content=_tenant("TENANT_B"),
        version="v1.0",
    )
    assert not [w for w in other.report["warnings"] if w["code"] == "duplicate_content"]
    result = tenant_pack_import(
        principal=admin.principal, tenant_id="TENANT_A", content=_tenant(), version="v1.1"
    )
    assert result.created
    codes = [(w["code"], w["message"]) for w in result.report["warnings"]]
    assert any(code == "duplicate_content" and "v1.0" in msg for code, msg in codes)
    assert TenantPack.objects.filter(tenant_id="TENANT_A").count() == 2


def test_domain_import_page__same_content_new_version__duplicate_shown(admin):
    content = json.dumps(_finance_domain())
    client = browser(admin)
    client.post(DOMAIN_IMPORT, {"content": content, "version": "v1.0"}, **HTMX)
    response = client.post(DOMAIN_IMPORT, {"content": content, "version": "v1.1"}, **HTMX)
    assert response.status_code == 201
    text = response.content.decode()
    assert "Duplicate content" in text and "duplicate_content" in text and "v1.0" in text


def _system():
    from tenants.principals import Principal

    return Principal.system("setup")
