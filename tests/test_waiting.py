"""tests/waiting.py: the condition-waiting helper every test uses instead of fixed sleeps."""

import threading
import time

import pytest

from tests.waiting import WaitTimeout, holds, wait_until


def test_wait_until__condition_already_true__returns_its_value_at_once():
    assert wait_until(lambda: [1], timeout=5) == [1]


def test_wait_until__condition_becomes_true_in_another_thread__returns_when_it_does():
    done = threading.Event()
    threading.Thread(target=done.set).start()
    assert wait_until(done.is_set, timeout=10, interval=0.01) is True


def test_wait_until__condition_never_true__raises_naming_it():
    with pytest.raises(WaitTimeout, match=r"the receiver answering did not hold within 0\.05 s"):
        wait_until(lambda: 0, timeout=0.05, interval=0.01, message="the receiver answering")


def test_wait_until__condition_true_only_at_the_deadline__still_counted():
    calls = []

    def late():
        calls.append(time.monotonic())
        return len(calls) >= 2

    # interval longer than the timeout: one try, one sleep up to the deadline, one last try
    assert wait_until(late, timeout=0.01, interval=5) is True
    assert len(calls) == 2


def test_wait_until__non_positive_timeout__refused():
    with pytest.raises(ValueError):
        wait_until(lambda: True, timeout=0)


def test_holds__true_or_false_without_raising():
    assert holds(lambda: True, timeout=1) is True
    assert holds(lambda: False, timeout=0.03, interval=0.01) is False
