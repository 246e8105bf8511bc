"""What a sign-in through the provider can fail with: each a problem with a stable code, shown
as a page to a browser (sso/error.html) and as problem+json to anyone else."""

from onboarding.errors import Forbidden, InvalidInput, NotFound, ServiceError


class SsoNotConfigured(NotFound):
    code = "sso_not_configured"
    title = "Single sign-on is not configured"


class OidcStateMismatch(InvalidInput):
    code = "oidc_state_mismatch"
    title = "Sign-in could not be verified"


class OidcNonceMismatch(InvalidInput):
    code = "oidc_nonce_mismatch"
    title = "Sign-in could not be verified"


class OidcTokenInvalid(InvalidInput):
    code = "oidc_token_invalid"
    title = "Sign-in could not be verified"


class OidcProviderError(InvalidInput):
    code = "oidc_provider_error"
    title = "The identity provider refused the sign-in"


class OidcClaimsInvalid(InvalidInput):
    code = "oidc_claims_invalid"
    title = "The identity provider sent unusable claims"


class OidcUnavailable(ServiceError):
    status = 503
    code = "oidc_unavailable"
    title = "The identity provider cannot be reached"


class UserInactive(Forbidden):
    code = "user_inactive"
    title = "This user is deactivated"


class LocalLoginDisabled(Forbidden):
    code = "local_login_disabled"
    title = "Password login is switched off"
