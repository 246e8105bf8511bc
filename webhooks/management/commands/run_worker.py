"""python manage.py run_worker [--concurrency N] [--interval SECONDS]"""

from django.core.management.base import BaseCommand, CommandParser

from onboarding import worker


class Command(BaseCommand):
    help = (
        "Run the background worker: webhook deliveries and scheduled activations "
        "(django-tasks database backend). Run as many as you like, on any hosts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency",
            type=_positive_int,
            default=None,
            help="Webhook delivery loops in this process (default: WORKER_CONCURRENCY).",
        )
        parser.add_argument(
            "--interval",
            type=_positive_float,
            default=None,
            help="Seconds between polls of an empty queue (default: WORKER_POLL_INTERVAL).",
        )

    def handle(self, *args, concurrency=None, interval=None, **options) -> None:
        worker.run(concurrency=concurrency, interval=interval)


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not 0 < value < 3600:
        raise ValueError(raw)
    return value
