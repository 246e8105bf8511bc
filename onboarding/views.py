from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.response import Response

from onboarding.doors import wants_html
from onboarding.problems import problem, problem_response


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


@csrf_exempt  # nothing lives here, nothing is written: 404 on every method and door (issue 25)
def not_found(request, exception=None):
    return _error(request, 404, "not_found", "Not found", f"No resource at {request.path}.")


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: the page door's answer instead of Django's own HTML page. htmx gets a
    problem (app.js shows it as a toast: the page probably outlived its session or token), a
    browser the error page."""
    detail = "The form's security token is missing or stale: reload the page and try again."
    body = problem(403, "csrf_failed", "Forbidden", detail)
    if wants_html(request) and not request.headers.get("HX-Request"):
        return render(
            request,
            "error.html",
            {"status": 403, "title": body["title"], "detail": detail},
            status=403,
        )
    return problem_response(body)


def server_error(request):
    return _error(request, 500, "server_error", "Server error", "An unexpected error occurred.")


class DocsErrorsMixin:
    """The docs views render HTML or YAML: their errors (405, 406, ...) are answered as
    problem+json instead of through those renderers, and OPTIONS (which DRF answers with
    metadata through the view's renderer, a template that does not exist) is a plain 204."""

    def dispatch(self, request, *args, **kwargs):
        if request.method == "OPTIONS":  # whatever it accepts: there is nothing to negotiate
            response = HttpResponse(status=204)
            response["Allow"] = ", ".join(self.allowed_methods)
            return response
        return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.exception:
            headers = {
                name: response[name]
                for name in ("Allow", "WWW-Authenticate", "Retry-After")
                if response.has_header(name)
            }
            response = problem_response(response.data, headers)
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaView(DocsErrorsMixin, SpectacularAPIView):
    pass


class SwaggerDocsView(DocsErrorsMixin, SpectacularSwaggerSplitView):
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
