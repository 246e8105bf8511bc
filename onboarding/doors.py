"""One path, two representations (DESIGN §5), declared where the URL is.

    path("admin/tenants", two_doors(api=api.TenantListView.as_view(), page=views.tenant_list_page),
         name="tenant-list")

serves the page view to browsers and htmx, and the API view to REST clients. A path with no API
twin is `page_only(view, api="GET /admin/...")`: REST clients get a 406 naming the API to use.
Reading a `urls.py` therefore tells which paths serve pages; nothing is registered elsewhere."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_protect

from onboarding.problems import problem, problem_response

View = Callable[..., HttpResponse]

# The request headers that choose the door: caches must keep the two representations apart.
NEGOTIATED_ON = ("Accept", "HX-Request")


def wants_html(request: HttpRequest) -> bool:
    """`?format=json|csv` → API; an htmx request → page; `Accept` preferring text/html → page;
    anything else (no Accept, `*/*`, application/json) → API."""
    if request.GET.get("format") in ("json", "csv"):
        return False
    if request.headers.get("HX-Request"):
        return True
    accept = request.headers.get("Accept", "")
    if not accept:
        return False
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


def two_doors(*, api: View, page: View) -> View:
    """A view answering `page` to browsers and `api` (a DRF `APIView.as_view()`) to REST clients.

    CSRF: DRF views are csrf_exempt and check CSRF themselves for session-authenticated writes;
    the page side enforces Django's CSRF check on its own."""
    protected_page = csrf_protect(page)

    def door(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        view = protected_page if wants_html(request) else api
        response = view(request, *args, **kwargs)
        patch_vary_headers(response, NEGOTIATED_ON)
        return response

    door.csrf_exempt = True  # each side decides, see above
    door.api, door.page = api, page
    # drf-spectacular and Django's introspection find the API view class where as_view() puts it.
    for name in ("cls", "initkwargs", "view_class", "view_initkwargs"):
        if hasattr(api, name):
            setattr(door, name, getattr(api, name))
    door.__name__ = door.__qualname__ = f"two_doors({page.__name__})"
    return door


def page_only(page: View, *, api: str) -> View:
    """A page with no API twin; `api` names the endpoint a REST client should call instead."""

    def door(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if wants_html(request):
            response = page(request, *args, **kwargs)
        else:
            response = problem_response(
                problem(
                    406,
                    "not_acceptable",
                    "Not acceptable",
                    f"{request.path} is a page for browsers; the API is {api}.",
                )
            )
        patch_vary_headers(response, NEGOTIATED_ON)
        return response

    door.api, door.page = None, page
    door.__name__ = door.__qualname__ = f"page_only({page.__name__})"
    return door
