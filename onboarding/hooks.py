"""Hooks: how a lower app asks a question only a higher app can answer, without importing it
(docs/architecture.md, "Hooks and signals across layers").

A `Hook` is a question with one answerer: the lower app declares it (in its `hooks.py`) with a
default answer — what is true while no higher app is installed — and calls it like a function;
the higher app registers its answer in its AppConfig.ready. A question many apps may have a say
in, or a veto over, is a Django `Signal` instead: `send()` propagates a receiver's exception, so a
receiver refuses by raising a Conflict."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class Hook:
    def __init__(self, name: str, *, default: Callable[..., Any]):
        self.name = name
        self._default = default
        self._answer: Callable[..., Any] | None = None

    def answer(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """Register the answer (once; registering the same function again is harmless)."""
        if self._answer is not None and self._answer is not function:
            raise ImproperlyConfigured(f"hook {self.name} already has an answer")
        self._answer = function
        return function

    def __call__(self, **kwargs: Any) -> Any:
        return (self._answer or self._default)(**kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name}>"
