"""The page door (DESIGN §5): one path, two representations.

Every API URL has a name. A page view registered under that name with `@page("name")` answers
browsers (Accept preferring text/html) and htmx requests on the same path; REST clients keep
getting JSON from the API view. The dispatch happens in `PageDoorMiddleware`, so API modules and
page modules never import each other."""

from collections.abc import Callable

from django.http import HttpRequest
from django.views.decorators.csrf import csrf_protect

PAGES: dict[str, Callable] = {}


def page(url_name: str) -> Callable[[Callable], Callable]:
    def register(view: Callable) -> Callable:
        # DRF views are csrf_exempt; a page answering on the same path enforces CSRF itself.
        PAGES[url_name] = csrf_protect(view)
        return view

    return register


def wants_html(request: HttpRequest) -> bool:
    if request.GET.get("format") in ("json", "csv"):
        return False
    if request.headers.get("HX-Request"):
        return True
    accept = request.headers.get("Accept", "")
    if not accept:
        return False
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


class PageDoorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._loaded = False

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not self._loaded:
            _load_page_modules()
            self._loaded = True
        match = request.resolver_match
        page_view = PAGES.get(match.url_name) if match else None
        if page_view is None or not wants_html(request):
            return None
        try:
            return page_view(request, *view_args, **view_kwargs)
        except Exception as exc:
            # Django hands exceptions from process_view to no process_exception hook.
            from onboarding.middleware import database_unavailable_response

            response = database_unavailable_response(request, exc)
            if response is None:
                raise
            return response


def _load_page_modules() -> None:
    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        try:
            import_module(f"{config.name}.views")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.views":
                raise
    import_module("onboarding.page_views")
