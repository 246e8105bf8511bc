"""The runtime cache generation: a counter every process can see, bumped after each change
that alters some tenant's effective configuration."""

import logging

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)
GENERATION_KEY = "runtime_config:generation"


def bump_generation() -> None:
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:
            cache.add(GENERATION_KEY, 1, timeout=None)
            cache.incr(GENERATION_KEY)
    except Exception:
        log.warning("runtime cache generation could not be bumped; processes fall back to TTL")


def bump_generation_on_commit() -> None:
    transaction.on_commit(bump_generation)
