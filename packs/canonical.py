"""Canonical JSON and checksums (DESIGN §7): keys sorted, separators "," and ":", UTF-8 without
ASCII escaping. Integral floats are written as integers, so content that makes a round trip
through PostgreSQL's jsonb (which prints 1.0e2 as 100) keeps its checksum."""

import hashlib
import re
from typing import Any

import orjson

# orjson writes every float with a fraction (`100.0`) or a signed exponent (`1e+16`): output
# without either holds no integral float, and needs no normalising walk (most packs).
_FLOAT_FRACTION = re.compile(rb"\.0(?:[,\]}]|\Z)")
_FLOAT_EXPONENT = re.compile(rb"e[-+][0-9]")


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**63:
            return int(value)
        return value
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def canonical_json(value: Any) -> bytes:
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if _FLOAT_FRACTION.search(text) or _FLOAT_EXPONENT.search(text):
        return orjson.dumps(_normalise(value), option=orjson.OPT_SORT_KEYS)
    return text


def checksum(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()
