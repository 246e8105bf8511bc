"""What a refused request must leave as it was: every row of every table the project's models
own, compared value by value.

A hand-kept list of tables misses the table a new feature adds (change requests, links, webhooks
and sample sets were all missing from the first one), so the snapshot is taken from Django's app
registry: a new model is covered the day it is added. Only what legitimately moves without a
write by the request is left out, each with its reason."""

from typing import Any

from django.apps import apps

# Tables that change on their own, whatever the request does.
VOLATILE_TABLES = {
    # A browser session is created or refreshed by logging in, not by the refused write.
    "django_session",
    # Heartbeats of serving processes (runtime_config.convergence), written by listener threads.
    "runtime_processes",
    "runtime_served_configs",
}
# Columns that record the use of a credential rather than a change of state.
VOLATILE_COLUMNS = {"last_login", "last_used_at"}
# Audit rows a refusal writes on purpose: an auditor must see refused reviews (issue 15) and
# refused imports (issue 15, "every refused import is a row") and login lockouts (issue 21).
DELIBERATE_ACTIONS = {"change_request.review_refused", "pack.import_rejected", "login.locked"}


def db_state() -> dict[str, Any]:
    """Every row of every model table, as sorted tuples of its columns' values."""
    state = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in VOLATILE_TABLES:
            continue
        columns = [
            field.attname for field in meta.concrete_fields if field.attname not in VOLATILE_COLUMNS
        ]
        rows = model._base_manager.all()
        if meta.db_table == "audit_events":
            rows = rows.exclude(action__in=DELIBERATE_ACTIONS)
        state[meta.db_table] = sorted(rows.values_list(*columns), key=repr)
    return state
