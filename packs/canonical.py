"""Canonical JSON and checksums (DESIGN §7): keys sorted, separators "," and ":", UTF-8 without
ASCII escaping.

A checksum must survive the database (issue 13). PostgreSQL's jsonb keeps a number as the exact
decimal of the text it was given (Python writes a float as its shortest repr) and prints it
without an exponent, so an integral float comes back as an integer: 1.0e2 as 100, and
1.2345678901234568e18, whose binary value is 1234567890123456768, as 1234567890123456800.
SQLite's JSON column keeps the text as written. Canonical JSON therefore writes an integral
float as the integer its shortest repr denotes, the value both databases give back; a
non-integral float reads back as the same double on both and is written as it is. Intake
refuses floats of magnitude 2**63 and more (onboarding.intake), which jsonb would turn into integers
no 64-bit reader accepts. tests/packs/test_number_round_trip.py proves the round trip on both
databases with generated packs.
"""

import hashlib
import re
from decimal import Decimal
from typing import Any

import orjson

# orjson writes every float with a fraction (`100.0`) or a signed exponent (`1e+16`): output
# without either holds no integral float, and needs no normalising walk (most packs).
_FLOAT_FRACTION = re.compile(rb"\.0(?:[,\]}]|\Z)")
_FLOAT_EXPONENT = re.compile(rb"e[-+][0-9]")
_EXACT = 2.0**53  # below, an integral float is an integer that its repr spells out exactly
_LIMIT = 2.0**63


def integral_value(value: float) -> int:
    """The integer an integral float's shortest repr denotes (what jsonb gives back)."""
    if -_EXACT < value < _EXACT:
        return int(value)
    return int(Decimal(repr(value)))


_UNCHANGED = frozenset({str, int, bool, type(None)})


def _float(value: float) -> Any:
    if value.is_integer() and -_LIMIT < value < _LIMIT:
        return integral_value(value)
    return value


def _normalise(value: Any) -> Any:
    """`value` with its integral floats as integers; containers without floats are kept as
    they are (checked a container at a time: a 5 MB array is millions of items)."""
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        if set(map(type, value.values())) <= _UNCHANGED:
            return value
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        kinds = set(map(type, value))
        if kinds <= _UNCHANGED:
            return value
        if kinds == {float}:
            return list(map(_float, value))
        return [_normalise(item) for item in value]
    return value


def may_hold_integral_float(text: bytes) -> bool:
    """False when orjson's `text` certainly holds no integral float (nothing to normalise)."""
    return bool(_FLOAT_FRACTION.search(text) or _FLOAT_EXPONENT.search(text))


def canonical_json(value: Any) -> bytes:
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if may_hold_integral_float(text):
        return orjson.dumps(_normalise(value), option=orjson.OPT_SORT_KEYS)
    return text


def checksum(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()
