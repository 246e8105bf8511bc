"""The sign-in pages: the login page (password and/or "Sign in with SSO"), the redirect to the
provider, its callback, and logout (at the provider too when it offers RP-initiated logout).

The provider's answers are checked by Authlib; each failure becomes a problem with a stable code
(sso.errors) and nothing is written: a page for a browser, problem+json for anyone else."""

import logging
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET
from joserfc.errors import ClaimError, JoseError

from onboarding import ratelimit
from onboarding.doors import wants_html
from onboarding.errors import ServiceError
from onboarding.problems import problem_response
from sso.client import oidc_client, sso_enabled
from sso.errors import (
    LocalLoginDisabled,
    OidcClaimsInvalid,
    OidcNonceMismatch,
    OidcProviderError,
    OidcStateMismatch,
    OidcTokenInvalid,
    OidcUnavailable,
    SsoNotConfigured,
)
from sso.lockout import login_lockout_record
from sso.services import sso_login_complete

log = logging.getLogger(__name__)
NEXT_KEY = "sso_next"
ID_TOKEN_KEY = "sso_id_token"
# What a provider that cannot be reached or answers garbage raises inside Authlib.
_UNREACHABLE = (requests.RequestException, ValueError)


def refusal(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    if not wants_html(request):
        return problem_response(exc.as_problem(), exc.headers)
    context = {
        "status": exc.status,
        "title": exc.title,
        "detail": exc.detail,
        "code": exc.code,
        "local_login": settings.LOCAL_LOGIN,
    }
    return TemplateResponse(request, "sso/error.html", context, status=exc.status)


class _LoginView(LoginView):
    template_name = "login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(sso_enabled=sso_enabled(), local_login=settings.LOCAL_LOGIN)
        return context

    def post(self, request, *args, **kwargs):
        # Each POST counts once in the client's bucket and once in the bucket of the username it
        # tries (docs/operability.md): neither one client guessing many accounts nor many
        # clients guessing one account go beyond RATE_LIMIT_LOGIN.
        username = str(request.POST.get("username", "")).strip().lower()[:150]
        try:
            ratelimit.enforce(request, "login", extra_keys={"username": username})
        except ratelimit.RateLimited as exc:
            return self._locked(request, username, exc)
        return super().post(request, *args, **kwargs)

    def _locked(self, request, username: str, exc) -> HttpResponse:
        retry_after = int(exc.headers["Retry-After"])
        login_lockout_record(
            username=username, client=ratelimit.client_address(request), retry_after=retry_after
        )
        context = self.get_context_data(form=self.get_form_class()(request))
        context.update(locked=True, retry_after=retry_after)
        response = TemplateResponse(request, self.template_name, context, status=429)
        response["Retry-After"] = str(retry_after)
        return response


_local_login = _LoginView.as_view()


def login_page(request: HttpRequest) -> HttpResponse:
    """GET: the login page. POST: the password login, refused while LOCAL_LOGIN is off."""
    if request.method == "POST" and not settings.LOCAL_LOGIN:
        return refusal(
            request,
            LocalLoginDisabled("Password login is switched off here: sign in with SSO."),
        )
    return _local_login(request)


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


@require_GET
def oidc_login(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider (state, nonce, PKCE challenge: kept in the session)."""
    if not sso_enabled():
        return refusal(request, SsoNotConfigured("No OpenID provider is configured (OIDC_ISSUER)."))
    request.session[NEXT_KEY] = _safe_next(request, request.GET.get("next"))
    try:
        return oidc_client().authorize_redirect(
            request, request.build_absolute_uri("/oidc/callback")
        )
    except _UNREACHABLE as exc:
        log.warning("OpenID provider unreachable at login: %s", exc)
        return refusal(request, _unavailable())


def _unavailable() -> OidcUnavailable:
    also = " You can still log in with your password." if settings.LOCAL_LOGIN else ""
    return OidcUnavailable(
        f"The identity provider at {settings.OIDC_ISSUER} does not answer; try again later.{also}"
    )


@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer: verified by Authlib, then the user signed in (sso.services)."""
    if not sso_enabled():
        return refusal(request, SsoNotConfigured("No OpenID provider is configured (OIDC_ISSUER)."))
    try:
        claims, id_token = _verified_claims(request)
        result = sso_login_complete(issuer=claims["iss"], claims=claims)
    except ServiceError as exc:
        return refusal(request, exc)
    target = request.session.pop(NEXT_KEY, None)
    auth_login(request, result.user, backend="sso.backends.PasswordBackend")
    request.session[ID_TOKEN_KEY] = id_token
    return HttpResponseRedirect(_safe_next(request, target))


def _verified_claims(request: HttpRequest) -> tuple[dict, str]:
    client = oidc_client()
    try:
        issuer = client.load_server_metadata().get("issuer")
        answered_by = request.GET.get("iss")
        if answered_by and answered_by != issuer:  # RFC 9207: an answer from another provider
            raise OidcProviderError(f"The answer names the issuer {answered_by!r}, not {issuer!r}.")
        token = client.authorize_access_token(request)
        if "userinfo" not in token:
            raise OidcTokenInvalid("The provider sent no ID token.")
        claims = dict(token["userinfo"])
        if client.server_metadata.get("userinfo_endpoint"):
            extra = dict(client.userinfo(token=token))
            if extra.get("sub") != claims.get("sub"):
                raise OidcClaimsInvalid("The userinfo answer is about another subject.")
            claims = {**extra, **claims}
    except MismatchingStateError:
        raise OidcStateMismatch(
            "This sign-in answer does not match a sign-in started in this browser (unknown, "
            "tampered or already used state). Start again from the login page."
        ) from None
    except OAuthError as exc:
        detail = exc.description or ""
        raise OidcProviderError(
            f"The identity provider answered {exc.error!r}" + (f": {detail}" if detail else ".")
        ) from None
    except ClaimError as exc:
        if exc.claim == "nonce":
            raise OidcNonceMismatch(
                "The ID token's nonce is not the one this sign-in sent (a replayed or "
                "substituted token). Start again from the login page."
            ) from None
        raise OidcTokenInvalid(f"The ID token's {exc.claim!r} claim is not valid.") from None
    except JoseError as exc:
        raise OidcTokenInvalid(f"The ID token could not be verified ({exc.error}).") from None
    except _UNREACHABLE as exc:
        log.warning("OpenID provider unreachable at callback: %s", exc)
        raise _unavailable() from None
    return claims, token["id_token"]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def logout_page(request: HttpRequest) -> HttpResponse:
    """POST ends the session (a GET asks first); after an SSO sign-in, the browser goes on to
    the provider's end_session_endpoint when it advertises one (RP-initiated logout)."""
    if request.method != "POST":
        return TemplateResponse(request, "logout.html", {})
    id_token = request.session.get(ID_TOKEN_KEY)
    auth_logout(request)
    if id_token and sso_enabled():
        try:
            url = oidc_client().create_logout_url(
                post_logout_redirect_uri=request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL),
                id_token_hint=id_token,
                client_id=settings.OIDC_CLIENT_ID,
            )["url"]
            # Only on the issuer's origin, which the pages' form-action allows
            # (onboarding.middleware.policy_for_issuer): elsewhere the browser would block it.
            if _origin(url) == _origin(settings.OIDC_ISSUER):
                return HttpResponseRedirect(url)
            log.warning("end_session_endpoint is not on the issuer's origin: local logout only")
        except RuntimeError:
            pass  # the provider offers no end_session_endpoint: the local logout is all
        except _UNREACHABLE as exc:
            log.warning("OpenID provider unreachable at logout: %s", exc)
    return HttpResponseRedirect(settings.LOGOUT_REDIRECT_URL)
