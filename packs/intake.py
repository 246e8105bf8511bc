"""Strict JSON intake (DESIGN §7). PLACEHOLDER interface, to be completed by the validation work:
every pack and API body enters through `load_json_bytes`."""

import json
from typing import Any

from django.conf import settings

from onboarding.errors import InvalidInput, PayloadTooLarge, finding


class IntakeError(InvalidInput):
    pass


def _error(code: str, message: str, path: str = "") -> IntakeError:
    return IntakeError(message, code=code, errors=[finding(code, path, message)])


def load_json_bytes(
    data: bytes, *, max_bytes: int | None = None, max_depth: int | None = None
) -> Any:
    max_bytes = max_bytes or settings.PACK_MAX_BYTES
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"Body is {len(data)} bytes; the limit is {max_bytes}.")

    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                raise _error("duplicate_key", f"Duplicate key {key!r}.")
            seen[key] = value
        return seen

    def constant(name):
        raise _error("invalid_number", f"{name} is not a JSON number.")

    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except UnicodeDecodeError:
        raise _error("invalid_encoding", "Body is not UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise _error(
            "malformed_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except RecursionError:
        raise _error("too_deep", "Nesting is too deep.") from None


def load_json_object(data: bytes, **limits: Any) -> dict[str, Any]:
    value = load_json_bytes(data, **limits)
    if not isinstance(value, dict):
        raise _error("not_an_object", "The top level must be a JSON object.")
    return value
