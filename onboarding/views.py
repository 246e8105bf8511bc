import logging

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from drf_spectacular.views import SpectacularSwaggerSplitView

from onboarding.pages import wants_html
from onboarding.problems import problem, problem_response

log = logging.getLogger(__name__)


def healthz(request):
    if request.method not in ("GET", "HEAD"):
        response = problem_response(
            problem(405, "method_not_allowed", "Method not allowed", "Use GET.")
        )
        response["Allow"] = "GET, HEAD"
        return response
    body = {"status": "ok", "database": "ok"}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        log.exception("health check: database unreachable")
        body.update(status="error", database="error")
        status = 503
    try:
        from runtime_config.health import runtime_health

        body.update(runtime_health())
        if body.get("runtime") not in (None, "ok") and status == 200:
            body["status"] = "degraded"
    except ImportError:
        pass
    return JsonResponse(body, status=status)


def _error(request, status: int, code: str, title: str, detail: str):
    if wants_html(request):
        return render(
            request,
            "error.html",
            {"status": status, "title": title, "detail": detail},
            status=status,
        )
    return problem_response(problem(status, code, title, detail))


def bad_request(request, exception=None):
    return _error(
        request, 400, "bad_request", "Bad request", "The request could not be understood."
    )


def permission_denied(request, exception=None):
    return _error(request, 403, "forbidden", "Forbidden", "You may not do this.")


def not_found(request, exception=None):
    return _error(request, 404, "not_found", "Not found", f"No resource at {request.path}.")


def server_error(request):
    return _error(request, 500, "server_error", "Server error", "An unexpected error occurred.")


class SwaggerDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the offline sidecar. Its init code comes from a separate same-origin
    script (?script), so scripts stay 'self'-only; Swagger UI styles elements inline, so only
    this page allows inline styles."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'; object-src 'none'"
    )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = self.CSP
        return response
