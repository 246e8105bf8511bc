"""Loaded by pytest (`-p onboarding.pytest_env`) before Django settings: test-only defaults."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("AUDIT_HMAC_KEY", "test-only-audit-chain-key-not-for-production")
# Tests roll their transactions back, which a process-wide runtime cache would not notice: every
# lookup reads the database unless a test turns the cache on (tests/runtime_config do).
os.environ.setdefault("RUNTIME_CONFIG_TTL", "0")
# The listener thread would hold connections to the test database and see other tests' changes;
# the propagation tests start it in the processes they spawn.
os.environ.setdefault("RUNTIME_LISTENER", "false")
