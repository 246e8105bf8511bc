"""Project exceptions. Services raise these; both doors turn them into RFC 9457 problems."""

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        status: int | None = None,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        if title:
            self.title = title
        self.errors = errors if errors is not None else []
        self.extra = extra or {}
        # Response headers either door adds to the problem (Retry-After of a 429).
        self.headers: dict[str, str] = {}

    def as_problem(self) -> dict[str, Any]:
        body = {
            "type": f"/errors/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "errors": self.errors,
        }
        body.update(self.extra)
        return body


class InvalidInput(ServiceError):
    status = 400
    code = "invalid_request"
    title = "Invalid request"


class NotAuthenticated(ServiceError):
    status = 401
    code = "not_authenticated"
    title = "Authentication required"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "too_large"
    title = "Payload too large"


def finding(code: str, path: str, message: str, hint: str | None = None) -> dict[str, Any]:
    """One entry of a problem's `errors` list (and of a validation report)."""
    item = {"code": code, "path": path, "message": message}
    if hint:
        item["hint"] = hint
    return item
