"""gunicorn settings for the metrics' multiprocess mode (docs/operability.md):
`gunicorn -c python:onboarding.gunicorn_config onboarding.wsgi:application ...` with
PROMETHEUS_MULTIPROC_DIR set.

- on start, the directory is emptied: files of a previous run would be summed into this one's;
- when a worker exits, its live gauges are dropped (`mark_process_dead`); its counters and
  histograms stay in the sums, as Prometheus expects of counters."""

import os
from pathlib import Path

from prometheus_client import multiprocess


def _directory() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def on_starting(server) -> None:
    directory = _directory()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    if _directory() is not None:
        multiprocess.mark_process_dead(worker.pid)
