"""Settings of the bench servers: the service's own settings plus a urlconf with a trivial view,
so every HTTP figure is measured next to a baseline served by the same stack."""

from onboarding.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
