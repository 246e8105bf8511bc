"""The background worker (`python manage.py run_worker`, DESIGN §14 *Worker*).

django-tasks' database worker does the queueing: it claims one task row at a time (SELECT ...
FOR UPDATE SKIP LOCKED on PostgreSQL, an exclusive transaction on SQLite), so any number of
worker processes on any number of hosts share the work and no task row runs twice. One process
runs several of its loops in threads:

- `activations`: one loop for scheduled activations, so a slow webhook receiver can never delay
  a change due at a set time;
- `webhooks`: WORKER_CONCURRENCY loops for webhook deliveries (network-bound);
- recovery: every WORKER_RECOVERY_INTERVAL, hands work whose worker died (a lease that ran out)
  to a live one.

SIGINT/SIGTERM stop the loops after their current task; a second signal exits at once (the
leases make that safe: the interrupted work is handed over, at least once).

The worker knows no app: each app that has tasks registers its queue, and its recovery step if
it has one, in its AppConfig.ready (`register_queue`, `register_recovery_step`)."""

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connections

from onboarding import observability  # noqa: F401  one log record per finished task

logger = logging.getLogger("onboarding.worker")

# queue name -> whether it runs WORKER_CONCURRENCY loops (network-bound work) or one, or the name
# of the setting holding its number of loops.
QUEUES: dict[str, bool | str] = {}
# Periodic recovery steps, each `() -> int` (how many items it handed over).
RECOVERY_STEPS: list[Callable[[], int]] = []
_RESTART_DELAY = 1.0


def register_queue(
    name: str, *, concurrent: bool = False, loops_setting: str | None = None
) -> None:
    """A django-tasks queue the worker runs: one loop, WORKER_CONCURRENCY loops, or as many as
    the setting `loops_setting` says (a lane of its own, e.g. WEBHOOK_SLOW_LANE_CONCURRENCY)."""
    QUEUES[name] = loops_setting or concurrent


def register_recovery_step(step: Callable[[], int]) -> None:
    """A step run every WORKER_RECOVERY_INTERVAL that hands over work whose worker died."""
    if step not in RECOVERY_STEPS:
        RECOVERY_STEPS.append(step)


def worker_name(role: str, index: int) -> str:
    # django-tasks keeps worker ids of at most 64 characters.
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{role}-{index}"[:64]


def task_loop(queue: str, name: str, *, interval: float, batch: bool = False):
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=[queue],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=name,
        excluded_queue_names=[],
    )


@dataclass
class Runner:
    concurrency: int
    interval: float
    recovery_interval: float
    queues: tuple[str, ...] = field(default_factory=lambda: tuple(QUEUES))
    _stop: threading.Event = field(default_factory=threading.Event)
    _loops: list = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for queue in self.queues:
            for index in range(self._loops_of(queue)):
                loop = task_loop(queue, worker_name(queue, index), interval=self.interval)
                self._loops.append(loop)
                self._spawn(f"{queue}-{index}", lambda loop=loop: self._run_loop(loop))
        self._spawn("recovery", self._recover_forever)
        logger.info(
            "worker started: queues %s, %d loop(s) per concurrent queue, poll %.2f s",
            ",".join(self.queues),
            self.concurrency,
            self.interval,
        )

    def _loops_of(self, queue: str) -> int:
        kind = QUEUES.get(queue)
        if isinstance(kind, str):
            return getattr(settings, kind)
        return self.concurrency if kind else 1

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._closing(target), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    @staticmethod
    def _closing(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            finally:
                connections.close_all()  # this thread's connections

        return run

    def _run_loop(self, loop) -> None:
        # A lost database connection (or any bug) must not end the loop for good: log, wait, and
        # start again with a fresh connection.
        while not self._stop.is_set():
            try:
                loop.run()
                return
            except Exception:
                logger.exception("worker loop %s failed; restarting", loop.worker_id)
                close_old_connections()
                self._stop.wait(_RESTART_DELAY)

    def _recover_forever(self) -> None:
        steps = list(RECOVERY_STEPS)
        while not self._stop.wait(self.recovery_interval):
            for step in steps:
                try:
                    count = step()
                except Exception:
                    logger.exception("recovery step %s failed", step.__qualname__)
                    close_old_connections()
                    continue
                if count:
                    logger.warning("%s handed over %d item(s)", step.__qualname__, count)

    def stop(self) -> None:
        self._stop.set()
        for loop in self._loops:
            loop.running = False

    def wait(self) -> None:
        while any(thread.is_alive() for thread in self._threads):
            for thread in self._threads:
                thread.join(timeout=0.2)


def run(*, concurrency: int | None = None, interval: float | None = None) -> None:
    runner = Runner(
        concurrency=concurrency or settings.WORKER_CONCURRENCY,
        interval=settings.WORKER_POLL_INTERVAL if interval is None else interval,
        recovery_interval=settings.WORKER_RECOVERY_INTERVAL,
    )
    stopping = {"count": 0}

    def on_signal(signum, frame) -> None:
        stopping["count"] += 1
        if stopping["count"] > 1:
            logger.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(1)
        logger.info("%s: finishing current tasks", signal.Signals(signum).name)
        runner.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    runner.start()
    runner.wait()
    logger.info("worker stopped")


def drain(*, queues: tuple[str, ...] | None = None, rounds: int = 1) -> None:
    """Run every task that is due now, in this thread, then return (tests and benchmarks)."""
    queues = tuple(QUEUES) if queues is None else queues
    for _ in range(rounds):
        for queue in queues:
            task_loop(queue, worker_name(queue, 0), interval=0, batch=True).run()
        time.sleep(0)
