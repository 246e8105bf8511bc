"""Pack versions: parsed like packaging's Version, stored with a sortable key so "newest first"
and "latest" are plain database orderings.

The key uses only digits so that every database collation orders it byte-wise. Numbers are
written with their length first (so 10 sorts after 9), the release ends with "0" (so 1.2 sorts
before 1.2.1), and pre/post/dev releases use packaging's ordering rules.
"""

import re

from packaging.version import InvalidVersion, Version

from onboarding.errors import InvalidInput, finding

MAX_VERSION_LENGTH = 50
_MAX_NUMBER_DIGITS = 9
_PRE_RANK = {"a": "0", "b": "1", "rc": "2"}


def invalid_version(raw: object, reason: str, path: str = "/version") -> InvalidInput:
    return InvalidInput(
        f"Invalid version {raw!r}: {reason}",
        code="invalid_version",
        errors=[finding("invalid_version", path, f"Invalid version {raw!r}: {reason}")],
    )


def parse_version(raw: object, path: str = "/version") -> Version:
    """The parsed version, else 400 `invalid_version` pointing at `path` (the body field, query
    parameter or path segment that carried it): the same answer wherever a version is given."""
    if not isinstance(raw, str) or not raw.strip():
        raise invalid_version(
            raw, "a version is a non-empty string such as v1.4 or 2.0.0-rc1.", path
        )
    if len(raw) > MAX_VERSION_LENGTH:
        raise invalid_version(raw[:60], f"at most {MAX_VERSION_LENGTH} characters.", path)
    if raw != raw.strip():
        raise invalid_version(raw, "no leading or trailing spaces.", path)
    try:
        parsed = Version(raw)
    except InvalidVersion:
        raise invalid_version(
            raw, "not a version (expected e.g. v1.4, 1.2.3, 2.0.0-rc1).", path
        ) from None
    if parsed.local is not None:
        raise invalid_version(raw, "local labels (+...) are not supported.", path)
    numbers = [parsed.epoch, *parsed.release]
    numbers += [n for n in (parsed.pre and parsed.pre[1], parsed.post, parsed.dev) if n]
    if any(len(str(n)) > _MAX_NUMBER_DIGITS for n in numbers):
        raise invalid_version(raw, f"numbers have at most {_MAX_NUMBER_DIGITS} digits.", path)
    return parsed


def _num(n: int) -> str:
    digits = str(n)
    return f"{len(digits)}{digits}"


def version_key(raw: str) -> str:
    """The sortable form of a version; equal keys mean equal versions by parse."""
    v = parse_version(raw)
    release = list(v.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    parts = [_num(v.epoch)]
    parts += ["1" + _num(n) for n in release]
    parts.append("0")
    if v.pre is None and v.post is None and v.dev is not None:
        parts.append("0")  # 1.0.dev0 sorts before 1.0a1
    elif v.pre is None:
        parts.append("2")
    else:
        parts.append("1" + _PRE_RANK[v.pre[0]] + _num(v.pre[1]))
    parts.append("0" if v.post is None else "1" + _num(v.post))
    parts.append("1" if v.dev is None else "0" + _num(v.dev))
    return "".join(parts)


_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def next_version(latest: str | None) -> str:
    """The version after `latest`, keeping its spelling: v1.4 -> v1.5; none -> v1.0."""
    if latest is None:
        return "v1.0"
    parsed = parse_version(latest)
    prefix = "v" if latest[:1] in "vV" else ""
    release = list(parsed.release)
    release[-1] += 1
    if len(release) == 1:
        release.append(0)
    return prefix + ".".join(str(n) for n in release)
