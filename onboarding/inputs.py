"""Integers read from a query string or a form: ASCII digits only, within 64 bits.

`int()` alone accepts what no client means as a number (fullwidth digits, "1_000", " 7 ") and
refuses other digits with an error the caller must remember to catch (`"²".isdigit()` is true,
`int("²")` raises). Every integer taken from a request goes through here."""

import re

from onboarding.errors import InvalidInput, finding

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")


def as_int(raw: str | None, *, minimum: int | None = None) -> int | None:
    """The integer `raw` spells, or None."""
    if not isinstance(raw, str) or not _INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    return value if minimum is None or value >= minimum else None


def parse_int(
    raw: str | None, *, path: str, code: str = "wrong_type", minimum: int | None = None
) -> int:
    value = as_int(raw, minimum=minimum)
    if value is None:
        text = raw if isinstance(raw, str) else ""
        bound = f" of at least {minimum}" if minimum is not None else ""
        name = path.lstrip("/")
        raise InvalidInput(
            f"{name} must be an integer{bound}.",
            code=code,
            errors=[finding(code, path, f"Expected an integer{bound}, got {_shown(text)}.")],
        )
    return value


def _shown(text: str) -> str:
    return repr(text[:40] + ("…" if len(text) > 40 else ""))
