"""Typed readers for environment variables: a bad value stops start-up with a clear message."""

import os
import re

_RATE = re.compile(r"^[1-9][0-9]*/([1-9][0-9]*)?[smhd]$")


class ConfigError(RuntimeError):
    pass


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false/1/0), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A rate limit, `<count>/<period>`: `10/m`, `100/5m`, `1000/d` (s, m, h, d), or `off`."""
    value = (env_str(name) or default).strip()
    if value.lower() == "off":
        return "off"
    if not _RATE.match(value):
        raise ConfigError(f"{name} must be a rate like 10/m or 100/5m (s, m, h, d), got {value!r}")
    return value


def env_mapping(name: str, allowed_values: tuple[str, ...]) -> dict[str, str]:
    """`key=VALUE,key2=VALUE2` (e.g. OIDC_GROUP_ROLES `ops-admins=ADMIN,ops=VIEWER`): every item
    must have a non-empty key, a value among `allowed_values` and a key seen only once."""
    raw = env_str(name)
    if raw is None:
        return {}
    mapping: dict[str, str] = {}
    for item in raw.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not item.strip():
            continue
        if not sep or not key or value not in allowed_values:
            raise ConfigError(
                f"{name} must be a comma-separated list of key=VALUE with VALUE one of "
                f"{', '.join(allowed_values)}; got {item.strip()!r}"
            )
        if key in mapping:
            raise ConfigError(f"{name} names {key!r} twice")
        mapping[key] = value
    return mapping
