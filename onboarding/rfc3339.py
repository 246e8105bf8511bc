"""RFC 3339 date-times, the one format of every time the service reads or prints.

`parse_rfc3339` takes exactly RFC 3339 §5.6 `date-time` (a stricter reader than
`datetime.fromisoformat` or Django's `parse_datetime`, which take basic format, missing seconds
and any Unicode digit); `format_rfc3339` writes what the API writes (DRF's form: UTC, `Z`), so
commands, pages and the API print the same string for the same moment."""

import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

# RFC 3339 §5.6 `date-time`, and nothing looser: ASCII digits only (a bare `\d` would take
# Arabic-Indic or full-width digits), the extended format with `-` and `:` (no basic format
# `20261206T110709Z`), `T` between date and time, seconds, an optional fraction, and `Z` or an
# offset of at most ±23:59 (RFC 3339 allows lowercase `t` and `z` too).
_RFC3339 = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?P<fraction>\.[0-9]{1,9})?"
    r"(?:(?P<zulu>[Zz])|(?P<sign>[+-])(?P<off_hour>[01][0-9]|2[0-3]):(?P<off_minute>[0-5][0-9]))",
    re.ASCII,
)


def parse_rfc3339(value: Any) -> datetime | None:
    """The moment an RFC 3339 date-time names, in UTC (in its own offset only at the edge of
    year 1 or 9999); None for anything else (wrong shape, non-ASCII digits, an impossible date
    or time). Normalised to UTC so that every offset RFC 3339 allows is stored: PostgreSQL
    refuses a literal offset past ±15:59."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    parts = match.groupdict()
    offset = timedelta(0)
    if not parts["zulu"]:
        offset = timedelta(hours=int(parts["off_hour"]), minutes=int(parts["off_minute"]))
        if parts["sign"] == "-":
            offset = -offset
    fraction = (parts["fraction"] or ".0")[1:]
    try:
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"]),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=dt_timezone(offset),
        )
    except ValueError:  # 2026-02-30, 24:00:00, a leap second
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past datetime's range in UTC
        return moment  # still the right instant, still ordered against any other


def format_rfc3339(value: datetime | None) -> str:
    """`2026-12-06T10:09:22.752468Z`: the moment in UTC with `Z`, as the API prints it; "" for
    None. A naive value is taken as UTC (the service stores aware UTC times only)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_default(value: Any) -> Any:
    """`json.dumps(..., default=json_default)` for what a command prints: date-times as the API
    prints them, anything else as its string (a Decimal, a UUID)."""
    if isinstance(value, datetime):
        return format_rfc3339(value)
    return str(value)
