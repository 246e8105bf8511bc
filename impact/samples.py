"""A tenant's sample set as uploaded: JSON Lines, one `{exception_type, payload}` object a line.

Each line goes through the strict intake (`onboarding.intake.load_json_bytes`) like every other JSON
the service takes, so NUL and lone surrogates, numbers outside 64 bits, NaN, duplicate keys and
deep nesting are refused with the codes they have everywhere else; a line over
IMPACT_SAMPLE_MAX_LINE_BYTES is `too_large`. The answer names every bad line (up to
MAX_FINDINGS) by a JSON Pointer `/lines/<line number>` so that a person can fix them all at once.
"""

from typing import Any

import orjson
from django.conf import settings

from onboarding.errors import InvalidInput, ServiceError, finding
from onboarding.intake import load_json_bytes

MAX_FINDINGS = 50
MAX_EXCEPTION_TYPE = 200
KEYS = frozenset({"exception_type", "payload"})


def too_many_samples(count: int, limit: int) -> InvalidInput:
    return InvalidInput(
        f"The upload has {count:,} lines; a sample set holds at most {limit:,}.",
        code="too_many_samples",
        errors=[finding("too_many_samples", "", f"At most {limit:,} lines.")],
    )


def parse_samples(data: bytes) -> list[dict[str, Any]]:
    """The samples of a JSON Lines upload, in order. Blank lines are skipped (a final newline,
    an editor's empty line); their numbers still count, so a finding names the line as a text
    editor shows it."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    limit = settings.IMPACT_MAX_SAMPLES
    # Editors on some systems start a UTF-8 file with a byte order mark; it is not data.
    data = data.removeprefix(b"\xef\xbb\xbf")
    lines = data.split(b"\n")
    numbered = [(number, line.rstrip(b"\r")) for number, line in enumerate(lines, start=1)]
    numbered = [(number, line) for number, line in numbered if line.strip()]
    if len(numbered) > limit:
        raise too_many_samples(len(numbered), limit)
    samples: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for number, line in numbered:
        try:
            samples.append(_sample(number, line))
        except ServiceError as exc:
            errors.extend(_located(number, exc))
            if len(errors) >= MAX_FINDINGS:
                break
    if errors:
        first = errors[0]["path"].split("/")[2]
        raise InvalidInput(
            f"The sample set was not saved: line {first} "
            + ("and others are" if len(errors) > 1 else "is")
            + " not a sample {exception_type, payload}.",
            code="invalid_samples",
            errors=errors[:MAX_FINDINGS],
        )
    return samples


def _located(number: int, exc: ServiceError) -> list[dict[str, Any]]:
    found = exc.errors or [finding(exc.code, "", exc.detail)]
    return [
        {
            **item,
            "path": f"/lines/{number}{item.get('path') or ''}",
            "message": f"Line {number}: {item.get('message') or exc.detail}",
        }
        for item in found
    ]


def _sample(number: int, line: bytes) -> dict[str, Any]:
    max_bytes = settings.IMPACT_SAMPLE_MAX_LINE_BYTES
    if len(line) > max_bytes:
        raise InvalidInput(
            "Line too long.",
            code="too_large",
            errors=[finding("too_large", "", f"The line is over {max_bytes:,} bytes.")],
        )
    value = load_json_bytes(line, max_bytes=max_bytes)
    if not isinstance(value, dict):
        raise _invalid("not_an_object", "", "Expected a JSON object {exception_type, payload}.")
    if set(value) != KEYS:
        extra = sorted(set(value) - KEYS)
        missing = sorted(KEYS - set(value))
        if extra:
            raise _invalid("unknown_field", f"/{extra[0]}", f"Unknown field {extra[0]!r}.")
        raise _invalid("missing_required", f"/{missing[0]}", f"{missing[0]} is required.")
    kind = value["exception_type"]
    if not isinstance(kind, str) or not kind.strip() or len(kind) > MAX_EXCEPTION_TYPE:
        raise _invalid(
            "wrong_type",
            "/exception_type",
            f"exception_type must be a non-empty string of at most {MAX_EXCEPTION_TYPE} "
            "characters.",
        )
    if not isinstance(value["payload"], dict):
        raise _invalid("wrong_type", "/payload", "payload must be a JSON object.")
    return {"exception_type": kind, "payload": value["payload"]}


def _invalid(code: str, path: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=code, errors=[finding(code, path, message)])


def as_json_lines(samples: list[dict[str, Any]]) -> str:
    """The set written back as JSON Lines (what an upload of it would store again)."""
    return "".join(orjson.dumps(sample).decode() + "\n" for sample in samples)
