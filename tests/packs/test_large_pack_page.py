"""A large pack's page pages its code view (issue 23, item 6): a 4 MB pack's detail page stays
under 500 KB of HTML, numbers its lines as lines of the whole document, and links the next
lines; a small pack shows whole, as before."""

import copy
import re

import pytest

from packs.services import domain_pack_import
from tenants.principals import Principal
from tests.conftest import load_reference
from tests.ui.conftest import HTML, browser

DOMAIN = "CapitalMarketsTrading"
DASH = "\N{EN DASH}"  # as in "showing lines 1 to 980", written with an en dash


def _four_megabyte_pack() -> dict:
    content = copy.deepcopy(load_reference("domain_capital_markets.json"))
    base = next(iter(content["exceptionTypes"].values()))
    for index in range(14_000):
        content["exceptionTypes"][f"GENERATED_TYPE_{index:05d}"] = {
            **base,
            "description": f"Generated exception type {index} " + "x" * 200,
        }
    return content


@pytest.mark.django_db
def test_pack_page__4mb_pack__under_500kb_paged_with_whole_document_line_numbers(admin, settings):
    settings.PACK_MAX_BYTES = 8 * 1024 * 1024
    content = _four_megabyte_pack()
    pack = domain_pack_import(principal=Principal.system("t"), content=content, version="v9.0").pack
    assert pack.size_bytes > 4_000_000
    client = browser(admin)
    url = f"/admin/packs/domain/{DOMAIN}/v9.0"
    first = client.get(url, **HTML)
    body = first.content.decode()
    assert first.status_code == 200
    assert len(first.content) < 500_000, len(first.content)
    total = int(re.search(r"Pack content · ([\d]+) lines", body).group(1))
    assert total > 50_000
    assert f"showing lines 1{DASH}" in body and 'href="?code_page=2#' in body
    second = client.get(url + "?code_page=2", **HTML).content.decode()
    start = int(re.search(rf"showing lines (\d+){DASH}", second).group(1))
    assert start > 1
    assert re.search(rf'<pre><span class="normal"> *{start}</span>\n', second)  # whole-file numbers
    assert 'href="?code_page=1#' in second
    last = client.get(url + "?code_page=99999", **HTML)  # out of range: the last page
    assert last.status_code == 200
    assert f"{DASH}{total} (page" in last.content.decode()
    assert client.get(url + "?code_page=abc", **HTML).status_code == 200


@pytest.mark.django_db
def test_pack_page__small_pack__whole_content_no_pager(admin):
    domain_pack_import(
        principal=Principal.system("t"),
        content=load_reference("domain_capital_markets.json"),
        version="v3.2",
    )
    body = browser(admin).get(f"/admin/packs/domain/{DOMAIN}/v3.2", **HTML).content.decode()
    assert "showing lines" not in body and "code_page=" not in body
