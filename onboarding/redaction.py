"""One rule for anything that may carry a credential, applied wherever text leaves a request for
storage or for other eyes: the audit trail (`audit.services.audit_append`, so its API, page and
CSV), webhook payloads and attempt errors, and every log record (`RedactingFilter`, installed on
the console handler in settings).

What is hidden (replaced by `***`, the shape kept so a reader still sees what was there):

- in a URL: the userinfo (`https://***@host/`), every query and fragment value
  (`?token=***&page=***`; the names stay), and a path segment that looks like a secret (20 or
  more letters, digits, `-`, `_`, `.`, `~`, with both a letter and a digit: Slack- or
  Discord-style tokens in the path, UUIDs);
- in a mapping (headers, JSON details): the value of a key that names a credential
  (`Authorization`, `Cookie`, `X-Api-Key`, `password`, `client_secret`, `*_token`, ...); a
  nested object under such a key is walked, not dropped;
- in any text: URLs as above, `Bearer|Basic|Token|Digest <credential>`, `name=value` or
  `name: value` pairs whose name is a credential, and signing secrets (`whsec_...`).

    from onboarding.redaction import redact, redact_headers, redact_text, redact_url

    redact_url("https://u:p@h.example/in?token=abc")   # 'https://***@h.example/in?token=***'
    redact({"url": "...?token=abc", "password": "x"})  # every string in, every secret key
    redact_headers({"Authorization": "Token abc", "Accept": "*/*"})

It is a rule for what is stored and shown, not a parser of every credential format: the
subscription API still refuses credentials in webhook URLs, and secrets belong in the settings
or the signing-secret store, never in text."""

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

REDACTED = "***"

# Normalised (lower case, letters and digits only) key names that always carry a credential,
# and endings that do (`client_secret`, `x-auth-token`, `db_password`, ...).
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "credential",
        "credentials",
        "sessionid",
        "session",
        "signingsecret",
    }
)
_SECRET_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "credential",
    "credentials",
    "cookie",
    "authorization",
    "sessionid",
)
_NAME_CHARS = re.compile(r"[^a-z0-9]")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>\\`]+")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|token|digest|apikey)(\s+)([A-Za-z0-9._~+/=\-]{8,})")
_KEY_VALUE = re.compile(
    r"(?i)(?<![A-Za-z0-9])((?:[A-Za-z0-9]+[_-])*(?:password|passwd|passphrase|secret|token"
    r"|api[_-]?key|private[_-]?key|credentials?|session[_-]?id|cookie|authorization))"
    r"([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;\"']+)"
)
_SIGNING_SECRET = re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}")
_SECRET_SEGMENT = re.compile(r"^(?=[^/]*[A-Za-z])(?=[^/]*[0-9])[A-Za-z0-9._~\-]{20,}$")


def is_secret_name(name: object) -> bool:
    """Whether a header, field or parameter of this name carries a credential."""
    if not isinstance(name, str):
        return False
    normal = _NAME_CHARS.sub("", name.lower())
    return normal in _SECRET_KEYS or normal.endswith(_SECRET_ENDINGS)


def redact_url(url: str) -> str:
    """The URL without its userinfo, query and fragment values, or secret-looking path
    segments."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return _redact_unparsed_url(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    return urlunsplit(
        SplitResult(
            parts.scheme,
            netloc,
            "/".join(_segment(s) for s in parts.path.split("/")),
            _pairs(parts.query),
            _pairs(parts.fragment),
        )
    )


def _segment(segment: str) -> str:
    return REDACTED if _SECRET_SEGMENT.match(segment) else segment


def _pairs(text: str) -> str:
    if not text:
        return text
    out = []
    for pair in re.split(r"([&;])", text):
        if pair in ("&", ";") or not pair:
            out.append(pair)
        elif "=" in pair:
            name, _, value = pair.partition("=")
            out.append(f"{name}={REDACTED}" if value else pair)
        else:
            # A bare value (`?abc123`, `#access_token...`) may be the secret itself.
            out.append(REDACTED if len(pair) >= 8 else pair)
    return "".join(out)


def _redact_unparsed_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = f"{REDACTED}@{authority.rpartition('@')[2]}"
    path, _, query = tail.partition("?")
    text = f"{scheme}{sep}{authority}{slash}{path}"
    return f"{text}?{REDACTED}" if query else text


def redact_text(text: str) -> str:
    """Free text (a summary, an error, a log line) with every credential it shows hidden."""
    if not isinstance(text, str) or not text:
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _AUTH_SCHEME.sub(_scheme_credential, text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _SIGNING_SECRET.sub(f"whsec_{REDACTED}", text)


def _scheme_credential(match: re.Match) -> str:
    credential = match.group(3)
    # "Token verification" is prose; a credential has a digit or is long.
    looks_secret = any(c.isdigit() for c in credential) or len(credential) >= 20
    if credential == REDACTED or not looks_secret:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Headers with the value of every credential-carrying one hidden (and URLs in the others)."""
    return {
        name: REDACTED if is_secret_name(name) and value else redact(value)
        for name, value in headers.items()
    }


def redact(value: Any) -> Any:
    """A copy of JSON-like data (dicts, lists, strings, numbers) with every credential hidden."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: _redact_item(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def _redact_item(key: Any, item: Any) -> Any:
    if is_secret_name(key) and isinstance(item, str | int | float) and not isinstance(item, bool):
        return REDACTED if item != "" else item
    return redact(item)


class RedactingFilter(logging.Filter):
    """On a handler: every record it emits has its message and traceback redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's error path
            return True
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True
