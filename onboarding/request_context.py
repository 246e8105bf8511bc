"""The id of the request being served, for code that has no request object (audit receivers).

A ContextVar rather than a thread-local: it is correct under ASGI too, and threads started by a
request (or by a command) start empty."""

from contextvars import ContextVar, Token

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    """The X-Request-ID of the current request; empty outside a request (commands, shells)."""
    return _request_id.get()


def bind_request_id(request_id: str) -> Token:
    return _request_id.set(request_id)


def unbind_request_id(token: Token) -> None:
    _request_id.reset(token)


# Where a management command's changes come from (DESIGN §15): {command, os_user, host}, added
# to the details of every audit row written while it is bound (identity.commands).
_via: ContextVar[dict | None] = ContextVar("via", default=None)


def current_via() -> dict | None:
    return _via.get()


def bind_via(via: dict) -> Token:
    return _via.set(via)


def unbind_via(token: Token) -> None:
    _via.reset(token)
