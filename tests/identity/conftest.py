import pytest

from identity import tokens


@pytest.fixture(autouse=True)
def _fresh_last_used_throttle():
    """Token ids repeat across rolled-back tests; the per-process throttle must not carry over."""
    tokens._last_touch.clear()
    yield
    tokens._last_touch.clear()
