"""Parse errors in words at the real position (issue 23, item 3), through both doors of validate
and import: a trailing comma is reported after the line that holds it, a PNG is "not a JSON
file", and validate checks the version label the way import does."""

import json

import pytest

from onboarding.intake import IntakeError, load_json_object
from packs.models import DomainPack
from tests.api.conftest import assert_problem
from tests.conftest import load_reference
from tests.db_state import db_state
from tests.ui.conftest import HTMX, browser

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def _pack_with_trailing_comma(line: int = 55) -> tuple[str, int]:
    """The reference domain pack, two-space indented, with a comma added at the end of the last
    member of the first object that closes after `line`: (text, the comma's line)."""
    lines = json.dumps(load_reference("domain_capital_markets.json"), indent=2).split("\n")
    index = next(i for i in range(line - 1, len(lines)) if lines[i + 1].strip() in ("}", "},"))
    lines[index] += ","
    return "\n".join(lines), index + 1


def _message(data: bytes) -> tuple[str, str]:
    with pytest.raises(IntakeError) as caught:
        load_json_object(data)
    return caught.value.code, caught.value.detail


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"a": 1,\n "b": 2,\n}', "Trailing comma after line 2 (column 8)"),
        (b'{"a": [1, 2,]}', "Trailing comma after line 1 (column 12)"),
        (b'{"a": 1\n "b": 2}', "A comma is missing after line 1 at line 2 column 2"),
        (b"{'a': 1}", "Single quotes at line 1 column 2"),
        (b"{a: 1}", "The key a at line 1 column 2 needs double quotes"),
        (b'{"a": True}', "Unexpected True at line 1 column 7 (write true)"),
        (b'{"a": "x\ny"}', "inside the string at line 1 column 9"),
        (b'{"a": 1', "ends too early at line 1 column 8"),
        (b'{"a": 1, // note\n"b": 2}', "A comment at line 1 column 10"),
        (b'{"a" 1}', "A colon is missing after the key at line 1 column 6"),
        (b'{"a": "open}', "The string that starts at line 1 column 7 is never closed"),
    ],
)
def test_intake__malformed__names_the_mistake_and_its_position(data, words):
    code, detail = _message(data)
    assert code == "malformed_json"
    assert words in detail, detail


def test_intake__trailing_comma_in_a_long_pack__line_of_the_comma_not_of_the_brace():
    text, comma_line = _pack_with_trailing_comma(55)
    code, detail = _message(text.encode())
    assert code == "malformed_json"
    assert detail.startswith(f"Trailing comma after line {comma_line} ")
    assert f"line {comma_line + 1} column" in detail  # the brace it found, named second


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "a PNG image"),
        (b"%PDF-1.7\n\xe2\xe3\xcf\xd3", "a PDF document"),
        (b"\x00\x01\x02", "a binary file"),
    ],
)
def test_intake__binary_file__not_a_json_file(data, kind):
    assert _message(data) == ("not_a_json_file", f"This is not a JSON file: it looks like {kind}.")


# --- both doors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/packs/validate", "/admin/packs/domain/import"])
def test_api__trailing_comma_body__400_malformed_json_names_the_comma_line(admin, path):
    text, comma_line = _pack_with_trailing_comma(55)
    body = '{"pack_type": "domain", "content": ' + text + "}"
    before = db_state()
    response = admin.client.post(path, data=body, content_type="application/json")
    problem = assert_problem(response, 400, "malformed_json")
    assert f"Trailing comma after line {comma_line} " in problem["detail"]
    assert db_state() == before


@pytest.mark.parametrize("path", ["/admin/packs/validate", "/admin/packs/domain/import"])
def test_page__pasted_trailing_comma__inline_error_names_the_comma_line(admin, path):
    text, comma_line = _pack_with_trailing_comma(55)
    before = db_state()
    response = browser(admin).post(path, {"pack_type": "domain", "content": text}, **HTMX)
    assert response.status_code == 400
    assert f"Trailing comma after line {comma_line} " in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize("path", ["/admin/packs/validate", "/admin/packs/domain/import"])
def test_page__png_upload__not_a_json_file(admin, path, tmp_path):
    image = tmp_path / "logo.png"
    image.write_bytes(PNG)
    before = db_state()
    with image.open("rb") as upload:
        response = browser(admin).post(path, {"pack_type": "domain", "file": upload}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 400
    assert "This is not a JSON file: it looks like a PNG image." in body
    assert "UTF-8" not in body
    assert db_state() == before


# --- validate checks the version label as import does -------------------------------------------


@pytest.mark.parametrize("where", ["request", "content"])
def test_api_validate__bad_version_label__400_invalid_version_like_import(admin, where):
    content = load_reference("domain_capital_markets.json")
    body = {"pack_type": "domain", "content": content}
    if where == "request":
        body["version"] = "v4.0-final!"
    else:
        content["version"] = "v4.0-final!"
    before = db_state()
    validated = admin.client.post("/admin/packs/validate", body, format="json")
    body.pop("pack_type")
    imported = admin.client.post("/admin/packs/domain/import", body, format="json")
    for response in (validated, imported):
        problem = assert_problem(response, 400, "invalid_version")
        assert "v4.0-final!" in json.dumps(problem)
    assert validated.json()["errors"][0]["path"] == imported.json()["errors"][0]["path"]
    assert not DomainPack.objects.exists()
    assert db_state() == before


def test_api_validate__version_differs_from_content__400_version_mismatch(admin):
    content = load_reference("domain_capital_markets.json")
    content["version"] = "v3.2"
    before = db_state()
    response = admin.client.post(
        "/admin/packs/validate",
        {"pack_type": "domain", "content": content, "version": "v3.3"},
        format="json",
    )
    assert_problem(response, 400, "version_mismatch")
    assert db_state() == before


def test_page_validate__version_field_refused__not_valid(admin, db):
    content = json.dumps(load_reference("domain_capital_markets.json"))
    before = db_state()
    response = browser(admin).post(
        "/admin/packs/validate",
        {"pack_type": "domain", "content": content, "version": "v4.0-final!"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Invalid version" in body and "Valid domain pack" not in body
    assert db_state() == before


def test_page_validate__good_version__valid(admin, db):
    content = json.dumps(load_reference("domain_capital_markets.json"))
    response = browser(admin).post(
        "/admin/packs/validate",
        {"pack_type": "domain", "content": content, "version": "v4.0"},
        **HTMX,
    )
    assert response.status_code == 200
