"""One log line per request and per worker task, and the request metrics (docs/operability.md).

`RequestObservabilityMiddleware`, first in MIDDLEWARE (before the runtime's fast path, so its
requests count too): after each response it counts the request in `onboarding_http_requests` and
`onboarding_http_request_duration_seconds` by URL pattern (never the raw path), method and
status, and logs one record on the `onboarding.request` logger whose fields are the request id
(the response's X-Request-ID), principal, tenant, route, method, path, status and duration_ms.
With LOG_FORMAT=json every record is one JSON object per line (python-json-logger), these fields
at its top level; with LOG_FORMAT=text (the default) one plain line. The redaction filter
(onboarding.redaction) stays on the handler either way, and the logged path is redacted too.

Worker tasks: django-tasks' `task_finished` signal logs one record on `onboarding.task` (task id,
function, queue, status, duration_ms, worker)."""

import logging
import time

from django.conf import settings
from django.dispatch import receiver
from django_tasks.signals import task_finished

from onboarding import metrics
from onboarding.redaction import redact_url

request_log = logging.getLogger("onboarding.request")
task_log = logging.getLogger("onboarding.task")

UNMATCHED = "(unmatched)"
STATIC = "(static)"
# The route of the runtime's fast path (runtime_config.fastpath), which resolves no URL.
RUNTIME_CONFIG_ROUTE = "runtime/tenants/<str:tenant_id>/config"


def route_of(request) -> str:
    """The URL pattern that answered (bounded label values), not the path."""
    if getattr(request, "runtime_lean", None) is not None:
        return RUNTIME_CONFIG_ROUTE
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    if route and route != "^":
        return route
    if request.path_info.startswith(settings.STATIC_URL):
        return STATIC
    return UNMATCHED


def principal_of(request) -> str:
    principal = getattr(request, "_principal", None) or getattr(request, "principal", None)
    name = getattr(principal, "username", None)
    if name:
        return name
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user.get_username()
    return ""


def tenant_of(request) -> str:
    lean = getattr(request, "runtime_lean", None)
    if lean is not None:
        return lean[0]
    match = getattr(request, "resolver_match", None)
    kwargs = getattr(match, "kwargs", None) or {}
    tenant = kwargs.get("tenant_id") or request.headers.get("X-Tenant-ID", "")
    return str(tenant)[:64]


# Methods are labels as they are; any other (a client may send any token) counts as `other`.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# (route, method, status) -> the two labelled children: resolving labels costs as much as an
# increment, and every label value here is bounded.
_children: dict[tuple[str, str, int], tuple] = {}


def _request_metrics(route: str, method: str, status: int) -> tuple:
    label = method if method in METHODS else "other"
    key = (route, label, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (
            metrics.REQUESTS.labels(route, label, str(status)),
            metrics.REQUEST_SECONDS.labels(route, label),
        )
    return children


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.metrics_on = settings.METRICS_ENABLED
        self.log_on = settings.LOG_REQUESTS

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        if not self.metrics_on and not self.log_on:
            return response
        route = route_of(request)
        if self.metrics_on:
            count, duration = _request_metrics(route, request.method, response.status_code)
            count.inc()
            duration.observe(elapsed)
        if self.log_on and request_log.isEnabledFor(logging.INFO):
            self.log(request, response, route, elapsed)
        return response

    @staticmethod
    def log(request, response, route: str, elapsed: float) -> None:
        request_id = response.get("X-Request-ID") or getattr(request, "request_id", "")
        status = response.status_code
        duration_ms = round(elapsed * 1000, 2)
        path = redact_url(request.path)
        request_log.info(
            "%s %s %s %.2fms",
            request.method,
            path,
            status,
            duration_ms,
            extra={
                "request_id": request_id,
                "principal": principal_of(request),
                "tenant": tenant_of(request),
                "route": route,
                "method": request.method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
            },
        )


@receiver(task_finished, dispatch_uid="onboarding.observability.task_finished")
def log_task(sender, task_result, **kwargs) -> None:
    started, finished = task_result.started_at, task_result.finished_at
    duration_ms = (
        round((finished - started).total_seconds() * 1000, 2) if started and finished else None
    )
    task = task_result.task
    status = str(task_result.status)
    task_log.info(
        "task %s %s %s",
        task.module_path,
        status,
        f"{duration_ms}ms" if duration_ms is not None else "",
        extra={
            "task_id": str(task_result.id),
            "task": task.module_path,
            "queue": task.queue_name,
            "status": status,
            "duration_ms": duration_ms,
            "worker": (task_result.worker_ids or [""])[-1],
        },
    )
