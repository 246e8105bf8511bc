"""onboarding/rfc3339.py: the one reader and writer of times (issue 25 items 4 and 11)."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from onboarding.rfc3339 import format_rfc3339, json_default, parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-07T10:00:00Z", datetime(2026, 12, 7, 10, tzinfo=UTC)),
        ("2026-12-07t10:00:00z", datetime(2026, 12, 7, 10, tzinfo=UTC)),
        ("2026-12-07T10:00:00.5+01:00", datetime(2026, 12, 7, 9, 0, 0, 500000, tzinfo=UTC)),
        ("2026-12-07T10:00:00-23:59", datetime(2026, 12, 8, 9, 59, tzinfo=UTC)),
        ("2026-12-07T10:00:00.123456789Z", datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_rfc3339__valid__the_instant_in_utc(text, expected):
    moment = parse_rfc3339(text)
    assert moment == expected and moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "\u0662\u0660\u0662\u0666-12-07T10:00:00Z",
        "20261206T110709Z",
        "2026-12-07T10:00Z",
        "2026-12-07T10:00:00",
        "2026-12-07T10:00:00+24:00",
        "2026-12-07T10:00:00+01:60",
        "2026-12-07T10:00:60Z",
        " 2026-12-07T10:00:00Z",
        "2026-12-07T10:00:00Z\n",
        None,
        20261207,
    ],
)
def test_parse_rfc3339__not_rfc3339__none(text):
    assert parse_rfc3339(text) is None


def test_format_rfc3339__any_zone__utc_with_z():
    moment = datetime(2026, 12, 6, 11, 9, 22, 752468, tzinfo=timezone(timedelta(hours=1)))
    assert format_rfc3339(moment) == "2026-12-06T10:09:22.752468Z"
    assert format_rfc3339(None) == ""


def test_json_default__datetime_and_other__rfc3339_and_str():
    text = json.dumps({"at": datetime(2026, 1, 2, tzinfo=UTC), "n": 1.5}, default=json_default)
    assert json.loads(text) == {"at": "2026-01-02T00:00:00Z", "n": 1.5}
