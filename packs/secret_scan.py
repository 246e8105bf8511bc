"""Secrets written into a pack in plain text (DESIGN §7): a value under a key that names a secret
(password, token, api key...) and is not a reference to a secret store is a `plaintext_secret`
warning. A cheap scan of the canonical bytes skips the walk for nearly every pack."""

import re
from typing import Any

from onboarding.intake import pointer_token, shorten

_SECRET_KEY_WORDS = ("password", "passwd", "secret", "token", "apikey", "privatekey")
# A cheap pre-scan of the canonical bytes (lower-cased): none of these, no walk needed.
_SECRET_WORD_BYTES = (b"passw", b"secret", b"token", b"apikey", b"api_key", b"privatekey")
# Values that point at a secret store rather than holding the secret.
_SECRET_REFERENCE = re.compile(
    r"^(?:\$\{[^}]+\}|\$[A-Z_][A-Z0-9_]*|(?:env|vault|secret|kms)://?\S+)$"
)


def _is_secret_key(key: str) -> bool:
    folded = key.lower().replace("-", "").replace("_", "")
    return any(word in folded for word in _SECRET_KEY_WORDS)


def check_secrets(report) -> None:
    canonical = report.canonical
    if canonical is not None:
        lowered = canonical.lower()
        if not any(word in lowered for word in _SECRET_WORD_BYTES):
            return
    secret_key: dict[Any, bool] = {}  # keys repeat: decide each spelling once
    # Paths are built only for the findings: each entry links to its parent's.
    stack: list[tuple[Any, Any]] = [(report.content, None)]
    while stack:
        node, where = stack.pop()
        if type(node) is dict:
            children = []
            for key, value in node.items():
                kind = type(value)
                if kind is dict or kind is list:
                    children.append((value, (where, key)))
                    continue
                if kind is not str or not value:
                    continue
                secret = secret_key.get(key)
                if secret is None:
                    secret = secret_key[key] = _is_secret_key(str(key))
                if secret and not _SECRET_REFERENCE.match(value) and not report.skip_warning():
                    report.warning(
                        "plaintext_secret",
                        _path_of((where, key)),
                        f"Key {shorten(str(key))} holds what looks like a secret in plain text.",
                        "Store a reference such as ${SECRET_NAME} or vault://path instead.",
                    )
            stack.extend(reversed(children))  # document order: the first found are listed
        elif type(node) is list:
            stack.extend(
                (item, (where, index))
                for index, item in reversed(list(enumerate(node)))
                if type(item) is dict or type(item) is list
            )


def _path_of(link: Any) -> str:
    tokens = []
    while link is not None:
        link, token = link
        tokens.append(pointer_token(str(token)))
    return "".join("/" + token for token in reversed(tokens))
