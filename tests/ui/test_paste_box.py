"""The paste box of the import panel (issue 23, item 3): line numbers beside the text (a plain
textarea without JavaScript), and a parse error that names the line the numbers show."""

import pytest

from tests.packs.test_parse_errors import _pack_with_trailing_comma
from tests.ui.conftest import console_failures, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("phone", [False, True], ids=["1366", "390"])
def test_paste_box__line_numbers_follow_the_text__error_names_the_comma_line(
    open_page, admin, phone
):
    text, comma_line = _pack_with_trailing_comma(55)
    page = open_page(admin, phone=phone)
    page.goto("/admin/packs?tab=domain")
    area = page.locator("textarea[name=content]")
    gutter = page.locator(".numbered-input .line-gutter")
    assert gutter.inner_text().split("\n") == ["1"]
    area.fill(text)
    lines = text.count("\n") + 1
    page.wait_for_function(
        "(n) => document.querySelector('.line-gutter').textContent.split('\\n').length === n",
        arg=lines,
    )
    area_box, gutter_box = area.bounding_box(), gutter.bounding_box()
    # Beside the text, on the left: the gutter covers the textarea's left padding, no text.
    padding = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('textarea[name=content]'))"
        ".paddingLeft)"
    )
    assert abs(gutter_box["x"] - area_box["x"]) <= 1
    assert gutter_box["x"] + gutter_box["width"] <= area_box["x"] + padding + 1
    assert area_box["x"] + area_box["width"] <= (390 if phone else 1366)
    # Scrolled to the comma's line, the gutter shows the same numbers as the text.
    page.evaluate(
        "(line) => { const a = document.querySelector('textarea[name=content]');"
        " a.scrollTop = (line - 1) * parseFloat(getComputedStyle(a).lineHeight);"
        " a.dispatchEvent(new Event('scroll')); }",
        comma_line,
    )
    page.wait_for_function(
        "() => { const a = document.querySelector('textarea[name=content]');"
        " return a.scrollTop > 0"
        " && document.querySelector('.line-gutter').scrollTop === a.scrollTop; }"
    )
    # The box keeps its own height (the text scrolls inside it), whatever the text's length.
    assert area.bounding_box()["height"] < 400
    assert gutter.bounding_box()["height"] == pytest.approx(area.bounding_box()["height"], abs=2)
    page.click("#import-form button:text-is('Validate')")
    result = page.locator("#import-result")
    result.locator(f".finding-message:text('Trailing comma after line {comma_line} ')").wait_for()
    shot(page, "mobile-paste-parse-error" if phone else "paste-parse-error")
    assert console_failures(page) == []


def test_paste_box__no_js__plain_textarea_still_validates(open_page, admin):
    text, comma_line = _pack_with_trailing_comma(55)
    page = open_page(admin, js=False)
    page.goto("/admin/packs?tab=domain")
    assert page.locator(".line-gutter").count() == 0
    page.fill("textarea[name=content]", text)
    page.click("#import-form button:text-is('Validate')")
    page.wait_for_selector(f"main .finding-message:text('Trailing comma after line {comma_line} ')")
