"""Loaded by pytest (`-p onboarding.pytest_env`) before Django settings: test-only defaults."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
