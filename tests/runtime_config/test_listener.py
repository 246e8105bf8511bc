"""The listener's process bookkeeping: a forked child (gunicorn's pre-fork model) starts with an
empty cache and no listener of its own, and starts one on its first lookup."""

import os
import time

import pytest

from runtime_config import cache as runtime_cache
from runtime_config import push


@pytest.fixture
def listener_on(settings, db):
    settings.RUNTIME_LISTENER = True
    settings.RUNTIME_HEARTBEAT_INTERVAL = 60
    yield
    push.stop_listener()


def test_fork__child__empty_cache_and_no_inherited_listener(listener_on):
    push.ensure_listener()
    parent = push.current()
    assert parent is not None and parent.thread.is_alive()
    runtime_cache._entries["T_FORK"] = (time.monotonic() + 60, object())
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        ok = push.current() is None and not runtime_cache._entries
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert push.current() is parent and parent.thread.is_alive()
    runtime_cache._entries.pop("T_FORK", None)


def test_listener__healthy__request_path_does_not_poll(listener_on, monkeypatch, settings):
    push.ensure_listener()
    calls = []
    monkeypatch.setattr(runtime_cache, "check_generation", lambda *a, **k: calls.append(a))
    push.tick(time.monotonic())
    assert calls == []
    push.stop_listener()
    runtime_cache.state.next_check = 0
    settings.RUNTIME_LISTENER = False
    push.tick(time.monotonic())
    assert len(calls) == 1
