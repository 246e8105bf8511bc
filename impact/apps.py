from django.apps import AppConfig

from onboarding import worker


class ImpactConfig(AppConfig):
    name = "impact"

    def ready(self) -> None:
        # AppConfig.ready: runs imports models, which exist only now.
        from impact import runs

        # Decision impact of change requests, off the request path (issue 25): one loop, so
        # CPU-bound runs never take more than one of the worker's threads.
        worker.register_queue(runs.IMPACT_QUEUE)
        worker.register_recovery_step(runs.pending_runs_recover)
