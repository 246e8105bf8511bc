"""Pages of identity (DESIGN §15): Settings → People — the users with a create form, and one
user with its roles (grant, revoke), its display name and deactivation. Plain forms that work
without JavaScript; the same services and selectors as the API."""

from datetime import timedelta

from django.template.response import TemplateResponse
from django.utils import timezone

from identity import selectors, services
from identity.models import TokenScope
from onboarding.errors import InvalidInput, ServiceError, finding
from onboarding.principal import Role
from onboarding.ui import Column, Filter, Table, done, filters_from, form_data, page_view
from tenants.selectors import tenant_list

TABLE_ID = "users-table"


def _user_url(username: str) -> str:
    return f"/admin/users/{username}"


def _field_errors(exc: ServiceError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in exc.errors:
        name = (item.get("path") or "").strip("/").split("/")[0] or "__all__"
        errors.setdefault(name, item.get("message") or exc.detail)
    return errors


def _tenant_choices(principal) -> list[tuple[str, str]]:
    if principal.is_platform_admin:
        choices = [("", "Platform-wide")]
        tenant_ids = list(
            tenant_list(principal=principal).values_list("tenant_id", flat=True)[:500]
        )
    else:
        choices = []
        tenant_ids = sorted(t for t in principal.tenant_roles if principal.can_write_tenant(t))
    return choices + [(tenant_id, tenant_id) for tenant_id in tenant_ids]


@page_view
def user_list_page(request):
    principal = request.principal
    form: dict = {"values": {}, "errors": {}}
    status = 200
    if request.method == "POST":
        data = form_data(request)
        form["values"] = {
            "username": data.get("username", ""),
            "email": data.get("email", "").strip(),
            "display_name": data.get("display_name", "").strip(),
            "service_account": data.get("service_account") == "on",
        }
        try:
            user = services.user_create(actor=principal, **form["values"])
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            form["detail"], form["errors"] = exc.detail, _field_errors(exc)
            status = exc.status
        else:
            return done(request, _user_url(user.username), f"User {user.username} created.")
    filters = filters_from(
        request,
        Filter("search", "Search", kind="search", value=""),
        Filter(
            "active", "Status", options=[("true", "Active"), ("false", "Deactivated")], value=""
        ),
    )
    values = {f.name: f.value for f in filters}
    users = selectors.user_list(
        principal=principal,
        search=values.get("search", "")[:200],
        active={"true": True, "false": False}.get(values.get("active", "")),
    )
    context = {
        "table": Table(
            request,
            users,
            [
                Column("username", "User", "username"),
                Column("roles", "Roles"),
                Column("status", "Status", "is_active"),
            ],
            table_id=TABLE_ID,
            row_template="identity/_user_row.html",
            default_sort="username",
            empty="No users match.",
        ),
        "filters": filters,
        "keep": [],
        "form": form,
        "can_manage": principal.is_admin_anywhere,
    }
    target = request.headers.get("HX-Target", "")
    template = "components/data_table.html" if target == TABLE_ID else "identity/user_list.html"
    return TemplateResponse(request, template, context, status=status)


def _detail(request, username: str, *, form: dict | None = None, status: int = 200):
    principal = request.principal
    user = selectors.user_get(principal=principal, username=username)
    context = {
        "user_row": user,
        "profile": getattr(user, "identity_profile", None),
        "form": form or {"values": {}, "errors": {}},
        "roles": Role.values,
        "tenant_choices": _tenant_choices(principal),
        "can_manage": principal.is_admin_anywhere,
        "is_self": user.get_username() == principal.username,
    }
    return TemplateResponse(request, "identity/user_detail.html", context, status=status)


@page_view
def user_detail_page(request, username: str):
    principal = request.principal
    if request.method == "POST":
        data = form_data(request)
        op = data.get("op", "")
        try:
            if op == "deactivate":
                services.user_deactivate(actor=principal, username=username)
                return done(request, _user_url(username), f"User {username} deactivated.")
            if op == "reactivate":
                services.user_update(actor=principal, username=username, is_active=True)
                return done(request, _user_url(username), f"User {username} reactivated.")
            services.user_update(
                actor=principal, username=username, display_name=data.get("display_name", "")
            )
            return done(request, _user_url(username), f"User {username} updated.")
        except ServiceError as exc:
            if exc.status == 404:
                raise
            form = {"values": {}, "errors": _field_errors(exc), "detail": exc.detail}
            return _detail(request, username, form=form, status=exc.status)
    return _detail(request, username)


@page_view
def user_roles_page(request, username: str):
    """The grant form's target (POST)."""
    principal = request.principal
    if request.method != "POST":
        return done(request, _user_url(username), "")
    data = form_data(request)
    values = {"role": data.get("role", ""), "tenant_id": data.get("tenant_id", "") or None}
    try:
        outcome = services.role_grant(actor=principal, username=username, **values)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        form = {"values": values, "errors": _field_errors(exc), "detail": exc.detail}
        return _detail(request, username, form=form, status=exc.status)
    if outcome.change_request is not None:
        return done(
            request,
            f"/admin/config-changes/{outcome.change_request.pk}",
            "Granting ADMIN needs a second ADMIN's approval: the request is waiting.",
        )
    scope = values["tenant_id"] or "the platform"
    return done(request, _user_url(username), f"{values['role']} on {scope} granted.")


@page_view
def user_role_detail_page(request, username: str, binding_id: str):
    """Revoke (POST from the no-JS form, or DELETE from htmx)."""
    principal = request.principal
    if request.method not in ("POST", "DELETE"):
        return done(request, _user_url(username), "")
    try:
        services.role_revoke(actor=principal, username=username, binding_id=binding_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        form = {"values": {}, "errors": {}, "detail": exc.detail}
        return _detail(request, username, form=form, status=exc.status)
    return done(request, _user_url(username), "Role revoked.")


# --- tokens ---

TOKENS_ID = "tokens-table"


def _token_values(data) -> dict:
    days = (data.get("days") or "").strip()
    return {
        "name": data.get("name", ""),
        "scope": data.get("scope", "write"),
        "tenant_ids": [t.strip() for t in data.get("tenant_ids", "").split(",") if t.strip()],
        "days": days,
        "username": data.get("username", "").strip(),
    }


@page_view
def token_list_page(request):
    """Your tokens and those of the users you manage, with the create form; the secret is shown
    once, in the answer to the form itself (never through a redirect and a session message)."""
    principal = request.principal
    form: dict = {"values": {"scope": "write"}, "errors": {}}
    created = None
    status = 200
    if request.method == "POST":
        values = _token_values(form_data(request))
        form["values"] = {**values, "tenant_ids": ", ".join(values["tenant_ids"])}
        try:
            expires_at = None
            if values["days"]:
                if not values["days"].isdigit():
                    raise InvalidInput(
                        "Days must be a whole number.",
                        code="invalid_expires_at",
                        errors=[finding("invalid_expires_at", "/days", "A whole number.")],
                    )
                expires_at = timezone.now() + timedelta(days=int(values["days"]))
            token, secret = services.token_create(
                actor=principal,
                name=values["name"],
                scope=values["scope"],
                tenant_ids=values["tenant_ids"],
                expires_at=expires_at,
                username=values["username"] or None,
            )
        except ServiceError as exc:
            if exc.status == 404:
                raise
            form["detail"], form["errors"] = exc.detail, _field_errors(exc)
            status = exc.status
        else:
            created, status = {"token": token, "secret": secret}, 201
            form = {"values": {"scope": "write"}, "errors": {}}
    context = {
        "table": Table(
            request,
            selectors.token_list(principal=principal),
            [
                Column("name", "Token", "name"),
                Column("user", "User", "user__username"),
                Column("scope", "Scope", "scope"),
                Column("expires", "Expires", "expires_at"),
                Column("used", "Last used", "last_used_at"),
                Column("actions", ""),
            ],
            table_id=TOKENS_ID,
            row_template="identity/_token_row.html",
            default_sort="name",
            empty="No tokens.",
            path="/admin/tokens",
        ),
        "form": form,
        "created": created,
        "scopes": [s.value for s in TokenScope],
        "can_manage": principal.is_admin_anywhere,
    }
    response = TemplateResponse(request, "identity/token_list.html", context, status=status)
    response["Cache-Control"] = "no-store"  # a page that may show a secret
    return response


@page_view
def token_detail_page(request, token_id: str):
    """Revoke (POST from the no-JS form, or DELETE from htmx)."""
    if request.method not in ("POST", "DELETE"):
        return done(request, "/admin/tokens", "")
    token = services.token_revoke(actor=request.principal, token_id=token_id)
    return done(request, "/admin/tokens", f"Token {token.name!r} revoked.")
