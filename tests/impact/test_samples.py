"""PUT/GET /admin/tenants/{id}/samples (DESIGN §14 *Decision impact*): JSON Lines, at most
IMPACT_MAX_SAMPLES lines of `{exception_type, payload}`, replaced atomically and audited."""

import orjson
import pytest

from audit.models import AuditEvent
from impact.models import TenantSampleSet
from tests.api.conftest import assert_problem

URL = "/admin/tenants/TENANT_A/samples"
NDJSON = "application/x-ndjson"
GOOD = (
    b'{"exception_type": "CASH_BREAK", "payload": {"amount": 1200}}\n'
    b'{"exception_type": "POSITION_BREAK", "payload": {"desk": "EQ"}}\n'
)


def put(actor, body: bytes, content_type: str = NDJSON, url: str = URL):
    return actor.client.put(url, body, content_type=content_type)


def state() -> tuple:
    return (
        list(TenantSampleSet.objects.values_list("tenant_id", "count", "checksum")),
        AuditEvent.objects.filter(action="tenant.samples_replaced").count(),
    )


@pytest.mark.parametrize("content_type", [NDJSON, "application/jsonl", "text/plain; charset=utf-8"])
def test_samples_put__json_lines__stored_audited_and_listed(owner, member, content_type):
    response = put(owner, GOOD, content_type)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2 and len(body["checksum"]) == 64
    assert body["uploaded_by"] == "owner-a"
    listed = member.client.get(URL).json()
    assert listed["count"] == 2 and listed["checksum"] == body["checksum"]
    assert listed["samples"] == [
        {"exception_type": "CASH_BREAK", "payload": {"amount": 1200}},
        {"exception_type": "POSITION_BREAK", "payload": {"desk": "EQ"}},
    ]
    event = AuditEvent.objects.get(action="tenant.samples_replaced")
    assert event.tenant_id == "TENANT_A" and event.actor == "owner-a"
    assert event.details["count"] == 2 and event.details["previous"] is None


def test_samples_put__second_upload__replaces_the_whole_set(owner):
    put(owner, GOOD)
    response = put(owner, b'{"exception_type": "CASH_BREAK", "payload": {}}\r\n\n')

    assert response.status_code == 200
    assert TenantSampleSet.objects.get().count == 1
    assert owner.client.get(URL).json()["samples"] == [
        {"exception_type": "CASH_BREAK", "payload": {}}
    ]
    latest = AuditEvent.objects.filter(action="tenant.samples_replaced").order_by("-id").first()
    assert latest.details["previous"]["count"] == 2


def test_samples_get__none_uploaded__empty_set(member):
    body = member.client.get(URL).json()

    assert body == {
        "tenant_id": "TENANT_A",
        "count": 0,
        "checksum": None,
        "uploaded_by": None,
        "uploaded_at": None,
        "samples": [],
    }


def test_samples_put__platform_admin__allowed(admin, tenant_a):
    assert put(admin, GOOD).status_code == 200


@pytest.mark.parametrize(
    ("line", "code", "path"),
    [
        (b'{"exception_type": "X"}', "missing_required", "/lines/2/payload"),
        (b'{"exception_type": "X", "payload": {}, "extra": 1}', "unknown_field", "/lines/2/extra"),
        (b'{"exception_type": 5, "payload": {}}', "wrong_type", "/lines/2/exception_type"),
        (b'{"exception_type": "X", "payload": [1]}', "wrong_type", "/lines/2/payload"),
        (b"[1, 2]", "not_an_object", "/lines/2"),
        (
            b'{"exception_type": "X", "payload": {"a": "\\u0000"}}',
            "invalid_string",
            "/lines/2/payload/a",
        ),
        (
            b'{"exception_type": "X", "payload": {"n": 1e400}}',
            "invalid_number",
            "/lines/2/payload/n",
        ),
        (
            b'{"exception_type": "X", "payload": {"n": 99999999999999999999999}}',
            "invalid_number",
            "/lines/2/payload/n",
        ),
        (
            b'{"exception_type": "X", "payload": ' + b'{"a": ' * 80 + b"1" + b"}" * 81,
            "too_deep",
            None,
        ),
        (b'{"exception_type": "X", "payload": {"a": 1, "a": 2}}', "duplicate_key", None),
        (b"{not json", "malformed_json", "/lines/2"),
    ],
)
def test_samples_put__bad_line__400_invalid_samples_names_the_line(owner, line, code, path):
    put(owner, GOOD)
    before = state()

    response = put(owner, GOOD.split(b"\n")[0] + b"\n" + line + b"\n")

    body = assert_problem(response, 400, "invalid_samples")
    assert body["errors"][0]["code"] == code
    assert body["errors"][0]["path"].startswith("/lines/2")
    if path is not None:
        assert body["errors"][0]["path"] == path
    assert "Line 2" in body["errors"][0]["message"]
    assert state() == before


def test_samples_put__oversize_line__400_too_large_finding(owner, settings):
    settings.IMPACT_SAMPLE_MAX_LINE_BYTES = 256
    line = orjson.dumps({"exception_type": "X", "payload": {"a": "x" * 300}})

    body = assert_problem(put(owner, GOOD + line), 400, "invalid_samples")

    assert body["errors"][0]["code"] == "too_large"
    assert body["errors"][0]["path"] == "/lines/3"
    assert state() == ([], 0)


def test_samples_put__too_many_lines__400_too_many_samples(owner, settings):
    settings.IMPACT_MAX_SAMPLES = 3
    body = b'{"exception_type": "X", "payload": {}}\n' * 4

    assert_problem(put(owner, body), 400, "too_many_samples")
    assert state() == ([], 0)


def test_samples_put__ten_thousand_lines__accepted(owner):
    body = b'{"exception_type": "CASH_BREAK", "payload": {"i": 1}}\n' * 10_000

    assert put(owner, body).json()["count"] == 10_000
    assert_problem(put(owner, body + body[:60]), 400, "too_many_samples")
    assert TenantSampleSet.objects.get().count == 10_000


def test_samples_put__json_content_type__415(owner):
    response = owner.client.put(URL, {"exception_type": "X", "payload": {}}, format="json")

    assert_problem(response, 415, "unsupported_media_type")
    assert state() == ([], 0)


def test_samples_put__tenant_viewer__403_nothing_written(member):
    assert_problem(put(member, GOOD), 403, "admin_required")
    assert state() == ([], 0)


def test_samples__outsider__404(outsider, owner):
    put(owner, GOOD)

    assert_problem(outsider.client.get(URL), 404, "tenant_not_found")
    assert_problem(put(outsider, GOOD), 404, "tenant_not_found")
    assert TenantSampleSet.objects.get().uploaded_by == "owner-a"


def test_samples_page__upload_textarea__replaces_and_shows_escaped(owner, client):
    client.force_login(owner.user)
    text = '{"exception_type": "<script>x</script>", "payload": {"k": "<b>"}}'

    response = client.post(URL, {"text": text}, HTTP_ACCEPT="text/html")

    assert response.status_code == 303
    page = client.get(URL, HTTP_ACCEPT="text/html").content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert TenantSampleSet.objects.get().count == 1


def test_samples_page__upload_file__replaces(owner, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(owner.user)
    upload = SimpleUploadedFile("samples.jsonl", GOOD, content_type=NDJSON)

    assert client.post(URL, {"file": upload}, HTTP_ACCEPT="text/html").status_code == 303
    assert TenantSampleSet.objects.get().count == 2


def test_samples_page__bad_upload__400_page_names_the_line(owner, client):
    client.force_login(owner.user)

    response = client.post(URL, {"text": '{"exception_type": "X"}'}, HTTP_ACCEPT="text/html")

    assert response.status_code == 400
    assert "/lines/1/payload" in response.content.decode()
    assert state() == ([], 0)


def test_samples_card__htmx_on_tenant_page__partial_with_form(owner, client):
    client.force_login(owner.user)

    response = client.get(URL, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'id="samples-card"' in response.content.decode()
    assert 'name="file"' in response.content.decode()


def test_samples_put__file_with_byte_order_mark__accepted(owner):
    response = put(owner, b"\xef\xbb\xbf" + GOOD, "text/plain")

    assert response.status_code == 200 and response.json()["count"] == 2


def test_samples_put__empty_body__empties_the_set(owner):
    put(owner, GOOD)

    response = put(owner, b"")

    assert response.status_code == 200 and response.json()["count"] == 0
    assert owner.client.get(URL).json()["samples"] == []
