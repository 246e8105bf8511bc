"""Signing secrets of webhook subscriptions: generated here, shown once, stored encrypted.

The database holds only a Fernet token (AES-128-CBC + HMAC-SHA256) whose key is derived from
SECRET_KEY with HKDF, so a copy of the database alone can neither read a secret nor forge a
signature. Keys derived from SECRET_KEY_FALLBACKS still decrypt, so SECRET_KEY can be rotated
the way Django rotates it (`python manage.py rotate_webhook_secrets` re-encrypts under the new
key; then drop the fallback)."""

import base64
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"
# Standard Webhooks: a symmetric secret of 24 to 64 bytes, base64 after the prefix.
SECRET_BYTES = 32
_HKDF_INFO = b"pack-onboarding webhooks signing-secret encryption v1"


class SecretUnreadable(RuntimeError):
    """The stored secret was encrypted under a key that is neither SECRET_KEY nor a fallback."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def encrypt(secret: str) -> str:
    return _fernet(*_keys()).encrypt(secret.encode("ascii")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet(*_keys()).decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(
            "The webhook signing secret cannot be decrypted with SECRET_KEY or "
            "SECRET_KEY_FALLBACKS."
        ) from None


def reencrypt(token: str) -> str:
    """The same secret under the current SECRET_KEY."""
    try:
        return _fernet(*_keys()).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable("The webhook signing secret cannot be decrypted.") from None


def _keys() -> tuple[str, ...]:
    return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))


@lru_cache(maxsize=8)
def _fernet(*secret_keys: str) -> MultiFernet:
    return MultiFernet([Fernet(_derive(key)) for key in secret_keys])


def _derive(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)
