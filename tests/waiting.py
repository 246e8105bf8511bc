"""Waiting on conditions, never on time.

A test that needs something to happen elsewhere (a worker, a listener, another process, a
browser) polls the condition it means with a deadline: `wait_until(predicate, timeout=...)`
returns the first truthy value of `predicate()` as soon as it appears and raises
`WaitTimeout` (an AssertionError, so pytest shows it as a failed expectation) naming what was
awaited when the deadline passes. The deadline is generous on purpose: a loaded machine makes
the wait longer, never the test red."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold before the deadline."""


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str | None = None,
) -> T:
    """The first truthy result of `predicate()`, polled every `interval` seconds; WaitTimeout
    when `timeout` seconds pass without one (the predicate is tried once more at the deadline,
    so a condition that holds then is never reported as missed)."""
    if timeout <= 0 or interval <= 0:
        raise ValueError("timeout and interval must be positive")
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
    value = predicate()
    if value:
        return value
    what = message or getattr(predicate, "__name__", "condition")
    raise WaitTimeout(f"{what} did not hold within {timeout:g} s (last value {value!r})")


def holds(predicate: Callable[[], object], *, timeout: float, interval: float = 0.02) -> bool:
    """Whether `predicate()` became truthy within `timeout` seconds (no exception): for the
    places that assert on the outcome themselves."""
    try:
        wait_until(predicate, timeout=timeout, interval=interval)
    except WaitTimeout:
        return False
    return True
