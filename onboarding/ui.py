"""Plumbing shared by the page views: session login, the principal, tables, htmx answers.

Page views are plain functions. `@page_view` gives them a logged-in user and a principal and turns
every ServiceError into the answer a browser expects: an error page for a full request, a
problem+json body for htmx (the central script shows it as a toast)."""

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from onboarding.errors import ServiceError
from onboarding.inputs import parse_int
from onboarding.principal import principal_for_request
from onboarding.problems import problem_response

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PAGE_SIZE = 25


def is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def login_url(request: HttpRequest) -> str:
    return f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}"


def page_view(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if is_htmx(request):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = login_url(request)
                return response
            return HttpResponseRedirect(login_url(request))
        try:
            request.principal = principal_for_request(request)
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            return error_response(request, exc)

    return wrapper


def error_response(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    if is_htmx(request):
        return problem_response(exc.as_problem(), exc.headers)
    response = TemplateResponse(
        request,
        "error.html",
        {"status": exc.status, "title": exc.title, "detail": exc.detail, "errors": exc.errors},
        status=exc.status,
    )
    for name, value in exc.headers.items():
        response[name] = value
    return response


def form_data(request: HttpRequest) -> QueryDict:
    """The submitted fields: HTML forms POST; htmx may PATCH/DELETE with a urlencoded body."""
    if request.method == "POST":
        return request.POST
    if request.content_type == "application/x-www-form-urlencoded":
        return QueryDict(request.body)
    return QueryDict()


def done(request: HttpRequest, url: str, message: str) -> HttpResponse:
    """A write succeeded: flash the message and show `url` (full reload for htmx too)."""
    messages.success(request, message)
    if is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url, status=303)


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    partials: dict[str, str] | None = None,
) -> TemplateResponse:
    """Render the page, or only the partial an htmx request targets (by element id)."""
    target = request.headers.get("HX-Target", "")
    if is_htmx(request) and partials and target in partials:
        template = partials[target]
        # Components that keep state outside the swapped element (the FilterBar's sort) send it
        # out of band when they are rendered alone.
        context = {**context, "partial": True}
    response = TemplateResponse(request, template, context, status=status)
    # The same URL answers a whole page or a partial: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def wants_write(request: HttpRequest) -> bool:
    return request.method in WRITE_METHODS


@dataclass
class TableLink:
    """A link of the DataTable's toolbar built from the table's own query (filters and sort), so
    it always follows what is on screen, e.g. the audit's Export CSV."""

    label: str
    href: str
    download: bool = False


@dataclass
class Column:
    key: str
    label: str
    sort: str | None = None  # ORM field (or attribute path for lists) ordering this column
    css: str = ""


class Table:
    """DataTable state: sort from `?sort=key|-key`, page from `?page=`, links keep the filters."""

    def __init__(
        self,
        request: HttpRequest,
        rows: Iterable,
        columns: list[Column],
        *,
        table_id: str,
        row_template: str,
        default_sort: str,
        empty: str,
        page_size: int = PAGE_SIZE,
        path: str | None = None,
        refresh_on: str | None = None,
        params: dict[str, str] | None = None,
    ):
        """`refresh_on`: an event name (sent with HX-Trigger) that reloads the table in place,
        with the filters and sort it shows. `path` and `params`: where the table's links lead
        when the page is rendered by another path (a form post without JavaScript)."""
        self.id = table_id
        self.refresh_on = refresh_on
        self.links: list[TableLink] = []
        self.default_sort = default_sort
        self.columns = columns
        self.row_template = row_template
        self.empty = empty
        self.path = path or request.path
        self._query = QueryDict(mutable=True)
        for name, values in request.GET.lists():
            kept = [value for value in values if value != ""]
            if name not in ("format", "event") and kept:
                self._query.setlist(name, kept)
        for name, value in (params or {}).items():
            self._query[name] = value
        sortable = {column.key: column.sort for column in columns if column.sort}
        wanted = request.GET.get("sort", default_sort)
        if wanted.lstrip("-") not in sortable:
            wanted = default_sort
        self.sort = wanted
        key, descending = wanted.lstrip("-"), wanted.startswith("-")
        rows = _ordered(rows, sortable[key], descending)
        self.paginator = Paginator(rows, page_size)
        self.page = self.paginator.get_page(_page_number(request))
        self.headers = [self._header(column) for column in columns]

    def add_link(self, label: str, *, download: bool = False, **changes: Any) -> None:
        """A toolbar link to this table's query with `changes` (None drops a parameter)."""
        self.links.append(TableLink(label, self._href(**changes), download))

    @property
    def href(self) -> str:
        """This table as shown: filters, sort and page."""
        return self._href()

    @property
    def sort_param(self) -> str:
        """The sort the FilterBar keeps when filters change ("" for the default)."""
        return "" if self.sort == self.default_sort else self.sort

    def _href(self, **changes: Any) -> str:
        query = self._query.copy()
        for name, value in changes.items():
            if value is None:
                query.pop(name, None)
            else:
                query[name] = value
        encoded = query.urlencode()
        return f"{self.path}?{encoded}" if encoded else self.path

    def _header(self, column: Column) -> dict[str, Any]:
        if not column.sort:
            return {"label": column.label, "href": None, "state": None, "css": column.css}
        key = self.sort.lstrip("-")
        state = None
        if key == column.key:
            state = "descending" if self.sort.startswith("-") else "ascending"
        next_sort = f"-{column.key}" if state == "ascending" else column.key
        return {
            "label": column.label,
            "href": self._href(sort=next_sort, page=None),
            "state": state,
            "css": column.css,
        }

    @property
    def previous_href(self) -> str | None:
        if not self.page.has_previous():
            return None
        return self._href(page=self.page.previous_page_number())

    @property
    def next_href(self) -> str | None:
        if not self.page.has_next():
            return None
        return self._href(page=self.page.next_page_number())


def _page_number(request: HttpRequest) -> int:
    """page=0, -1 or abc is a malformed request (400 invalid_page, like the API); a page past the
    end shows the last one."""
    raw = request.GET.get("page")
    if raw is None or raw == "":
        return 1
    return parse_int(raw, path="/page", code="invalid_page", minimum=1)


def _ordered(rows: Iterable, field: str, descending: bool):
    if hasattr(rows, "order_by"):
        prefix = "-" if descending else ""
        return rows.order_by(f"{prefix}{field}", *(["pk"] if field != "pk" else []))
    items = list(rows)
    items.sort(key=lambda row: _sort_value(row, field), reverse=descending)
    return items


def _sort_value(row: Any, field: str) -> tuple:
    value: Any = row
    for part in field.split("__"):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return (value is None, str(value) if value is not None else "")


@dataclass
class Filter:
    """One FilterBar control. kind: search | select | text | date."""

    name: str
    label: str
    kind: str = "select"
    value: str = ""
    options: list[tuple[str, str]] | None = None
    placeholder: str = ""


def filters_from(request: HttpRequest, *filters: Filter) -> list[Filter]:
    for item in filters:
        item.value = request.GET.get(item.name, "").strip()
    return list(filters)


def canonical_query(request: HttpRequest, *, drop: Iterable[str] = ()) -> QueryDict:
    """The request's query without empty parameters (an empty filter is no filter) or `drop`."""
    query = QueryDict(mutable=True)
    dropped = set(drop)
    for name, values in request.GET.lists():
        kept = [value for value in values if value != ""]
        if kept and name not in dropped:
            query.setlist(name, kept)
    return query


def filter_values(filters: list[Filter]) -> dict[str, str]:
    return {item.name: item.value for item in filters if item.value}
