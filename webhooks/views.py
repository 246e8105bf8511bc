"""Pages of webhooks (DESIGN §14): the subscriptions with a create form, and one subscription with
its deliveries, every attempt, and a redeliver button. ADMINs only, like the API.

The signing secret is shown once, in the answer to the create form itself: never through a
redirect and a flash message, which would store it in the session table."""

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from onboarding import ratelimit
from onboarding.errors import InvalidInput, ServiceError
from onboarding.ui import Column, Filter, Table, done, filters_from, form_data, page_view
from tenants.selectors import tenant_list
from webhooks import selectors, services
from webhooks.events import EVENT_TYPES
from webhooks.models import DeliveryStatus

TABLE_ID = "webhooks-table"
DELIVERIES_ID = "deliveries-table"


def _detail_url(subscription_id) -> str:
    return f"/admin/webhooks/{subscription_id}"


@page_view
def webhook_list_page(request):
    principal = request.principal
    form: dict = {"values": {"events": list(EVENT_TYPES), "active": True}, "errors": {}}
    created = None
    status = 200
    if request.method == "POST":
        data = form_data(request)
        form["values"] = {
            "url": data.get("url", "").strip(),
            "events": data.getlist("events"),
            "tenant_id": data.get("tenant_id", "").strip(),
            "active": data.get("active") == "on",
        }
        try:
            created = services.webhook_create(
                principal=principal,
                url=form["values"]["url"],
                events=form["values"]["events"],
                tenant_id=form["values"]["tenant_id"] or None,
                active=form["values"]["active"],
            )
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            form["detail"], form["errors"] = exc.detail, _field_errors(exc)
            status = exc.status
        else:
            status = 201
            form = {"values": {"events": list(EVENT_TYPES), "active": True}, "errors": {}}
    filters = filters_from(
        request,
        Filter("active", "Active", options=[("true", "Active"), ("false", "Inactive")], value=""),
    )
    active = {"true": True, "false": False}.get(filters[0].value)
    rows = selectors.webhook_list(principal=principal, active=active)
    context = {
        "table": Table(
            request,
            rows,
            [
                Column("id", "#", "id"),
                Column("url", "URL", "url"),
                Column("scope", "Tenant", "tenant_id"),
                Column("events", "Events"),
                Column("active", "Status", "active"),
                Column("created", "Created", "created_at"),
            ],
            table_id=TABLE_ID,
            row_template="webhooks/_row.html",
            default_sort="id",
            empty="No webhooks yet.",
        ),
        "filters": filters,
        "keep": [],
        "form": form,
        "created": created,
        "event_types": EVENT_TYPES,
        "tenant_choices": _tenant_choices(principal),
    }
    target = request.headers.get("HX-Target", "")
    template = "components/data_table.html" if target == TABLE_ID else "webhooks/list.html"
    return TemplateResponse(request, template, context, status=status)


def _tenant_choices(principal) -> list[tuple[str, str]]:
    choices = [("", "All tenants (platform)")] if principal.is_platform_admin else []
    if principal.is_platform_admin:
        tenants = tenant_list(principal=principal).values_list("tenant_id", flat=True)
        tenant_ids = list(tenants[:500])
    else:
        tenant_ids = sorted(t for t in principal.tenant_roles if principal.can_write_tenant(t))
    return choices + [(tenant_id, tenant_id) for tenant_id in tenant_ids]


def _field_errors(exc: ServiceError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in exc.errors:
        name = (item.get("path") or "").strip("/").split("/")[0] or "__all__"
        errors.setdefault(name, item.get("message") or exc.detail)
    return errors


@page_view
def webhook_detail_page(request, webhook_id: str):
    principal = request.principal
    if request.method in ("POST", "PATCH", "DELETE"):
        data = form_data(request)
        if request.method == "DELETE" or data.get("op") == "delete":
            subscription = selectors.webhook_get(principal=principal, webhook_id=webhook_id)
            services.webhook_delete(principal=principal, webhook_id=webhook_id)
            return done(request, "/admin/webhooks", f"Webhook #{subscription.pk} deleted.")
        changes = _changes(data)
        subscription = services.webhook_update(
            principal=principal, webhook_id=webhook_id, **changes
        )
        return done(request, _detail_url(subscription.pk), f"Webhook #{subscription.pk} saved.")
    return _detail(request, webhook_id)


def _changes(data) -> dict:
    changes: dict = {}
    if "url" in data:
        changes["url"] = data.get("url", "").strip()
    if "events" in data or data.get("op") == "update":
        changes["events"] = data.getlist("events")
    if "active" in data or data.get("op") == "update":
        changes["active"] = data.get("active") in ("on", "true")
    if not changes:
        raise InvalidInput("Nothing to change.", code="invalid_request")
    return changes


@page_view
def webhook_deliveries_page(request, webhook_id: str):
    return _detail(request, webhook_id)


@page_view
def webhook_redeliver_page(request, webhook_id: str, delivery_id: str):
    if request.method != "POST":
        return HttpResponseRedirect(_detail_url(webhook_id))
    ratelimit.enforce(request, "webhook_redeliver")
    delivery = services.delivery_redeliver(
        principal=request.principal, webhook_id=webhook_id, delivery_id=delivery_id
    )
    return done(
        request,
        _detail_url(delivery.subscription_id),
        f"Event {delivery.event_id} queued for redelivery.",
    )


@page_view
def webhook_resume_page(request, webhook_id: str):
    if request.method != "POST":
        return HttpResponseRedirect(_detail_url(webhook_id))
    subscription = services.webhook_resume(principal=request.principal, webhook_id=webhook_id)
    return done(
        request,
        _detail_url(subscription.pk),
        f"Webhook #{subscription.pk} resumed; its waiting deliveries go out now.",
    )


def _detail(request, webhook_id: str):
    principal = request.principal
    subscription = selectors.webhook_get(principal=principal, webhook_id=webhook_id)
    filters = filters_from(
        request,
        Filter("status", "Status", options=[(s, s.title()) for s in DeliveryStatus.values]),
    )
    status = filters[0].value if filters[0].value in DeliveryStatus.values else None
    deliveries = selectors.delivery_list(
        principal=principal, webhook_id=subscription.pk, status=status
    )
    table = Table(
        request,
        deliveries,
        [
            Column("created", "Created", "created_at"),
            Column("event", "Event"),
            Column("status", "Status", "status"),
            Column("attempts", "Attempts"),
            Column("last", "Last answer"),
            Column("actions", "Actions", css="actions-col"),
        ],
        table_id=DELIVERIES_ID,
        row_template="webhooks/_delivery_row.html",
        default_sort="-created",
        empty="No deliveries yet.",
        path=_detail_url(subscription.pk),
    )
    context = {
        "subscription": subscription,
        "table": table,
        "filters": filters,
        "keep": [],
        "event_types": EVENT_TYPES,
    }
    target = request.headers.get("HX-Target", "")
    template = "components/data_table.html" if target == DELIVERIES_ID else "webhooks/detail.html"
    return TemplateResponse(request, template, context)
