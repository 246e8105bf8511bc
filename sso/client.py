"""The OpenID Connect client: Authlib's Django integration, built from the OIDC_* settings.
Authlib does the protocol: discovery, the authorization request with state, nonce and a PKCE
S256 challenge kept in the session, the code exchange and the ID token's signature, issuer,
audience, expiry and nonce checks."""

import threading

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings

_lock = threading.Lock()
_clients: dict[tuple, DjangoOAuth2App] = {}


def sso_enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def oidc_client() -> DjangoOAuth2App:
    """One client per configuration (the provider's metadata and keys are fetched once)."""
    key = (
        settings.OIDC_ISSUER,
        settings.OIDC_CLIENT_ID,
        settings.OIDC_CLIENT_SECRET,
        settings.OIDC_SCOPES,
        settings.OIDC_HTTP_TIMEOUT,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            registry = OAuth()
            client = registry.register(
                "oidc",
                client_id=settings.OIDC_CLIENT_ID,
                client_secret=settings.OIDC_CLIENT_SECRET or None,
                server_metadata_url=f"{settings.OIDC_ISSUER}/.well-known/openid-configuration",
                client_kwargs={
                    "scope": settings.OIDC_SCOPES,
                    "code_challenge_method": "S256",
                    "default_timeout": settings.OIDC_HTTP_TIMEOUT,
                },
            )
            _clients[key] = client
        return client
