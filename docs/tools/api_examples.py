"""Write docs/api.md from real calls: a scratch SQLite database seeded with `seed_demo`, every
endpoint called through Django's test client, each request shown as curl and each response as
the service answered it (long lists and documents shortened, marked with "…").

    python -m docs.tools.api_examples            # rewrite docs/api.md
    python -m docs.tools.api_examples --out F    # write elsewhere

Tokens, timestamps, durations, ids and request ids differ on every run; everything else is
stable.
"""

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "api.md"
BASE = "http://127.0.0.1:8000"
LIST_ITEMS = 3
PENDING_LOOKUP = (
    'curl -s -H "Authorization: Token $TOKEN" '
    '"http://127.0.0.1:8000/admin/config-changes?status=PENDING&tenant_id=TENANT_DOCS_001" '
    "| jq -r '.results[0].id'"
)
STRING_CHARS = 160
# The /metrics families the example shows. The rest would make the example differ on every run:
# the client library's process and GC families, the `_created` timestamps, the latency
# histograms.
METRICS_SHOWN = ("onboarding_http_requests_total", "onboarding_webhook_queue_depth")
SCRATCH: list[str] = []  # the scratch database, removed when done

# A domain pack small enough to show in full.
DOCS_DOMAIN = {
    "domainName": "DocsDomain",
    "exceptionTypes": {
        "LATE_SETTLEMENT": {"description": "Settlement is late."},
        "PRICE_BREAK": {"description": "Prices disagree."},
    },
    "severityRules": [
        {"condition": "exceptionType == 'PRICE_BREAK'", "severity": "CRITICAL"},
        {
            "condition": "exceptionType == 'LATE_SETTLEMENT' && rawPayload.daysLate > 2",
            "severity": "HIGH",
        },
    ],
    "tools": {
        "getSettlement": {"description": "Read a settlement."},
        "retrySettlement": {"description": "Retry a settlement."},
    },
    "playbooks": [
        {
            "exceptionType": "LATE_SETTLEMENT",
            "steps": [
                {"action": "Read the settlement", "tool": "getSettlement"},
                {"action": "Retry it", "tool": "retrySettlement"},
            ],
        }
    ],
    "guardrails": {"allowLists": [], "blockLists": []},
}
DOCS_TENANT = {
    "tenantId": "TENANT_DOCS_001",
    "domainName": "DocsDomain",
    "approvedTools": ["getSettlement"],
    "humanApprovalRules": [
        {"severity": "CRITICAL", "requireApproval": True},
        {"severity": "HIGH", "requireApproval": False},
    ],
}


def _soon() -> str:
    """A time a day ahead, to the minute (the example's answer shows it)."""
    from datetime import UTC, datetime, timedelta

    moment = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    return moment.isoformat().replace("+00:00", "Z")


def _setup() -> None:
    handle, scratch = tempfile.mkstemp(prefix="docs_api_", suffix=".sqlite3")
    os.close(handle)
    SCRATCH.append(scratch)
    os.environ["SQLITE_PATH"] = scratch
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CACHE_URL", None)
    os.environ["DEBUG"] = "true"
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    with open(os.devnull, "w") as sink:
        call_command("seed_demo", stdout=sink)


def _metrics_excerpt(text: str) -> str:
    families: dict[str, list[str]] = {}
    name = ""
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
        families.setdefault(name, []).append(line)
    shown = ["\n".join(families[name]) for name in METRICS_SHOWN if name in families]
    return "\n…\n".join(shown)


def _shorten(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict):
        if depth >= 2 and len(value) > 4:
            return {**{k: _shorten(v, depth + 1) for k, v in list(value.items())[:3]}, "…": "…"}
        return {key: _shorten(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        items = [_shorten(item, depth + 1) for item in value[:LIST_ITEMS]]
        if len(value) > LIST_ITEMS:
            items.append(f"… {len(value) - LIST_ITEMS} more")
        return items
    if isinstance(value, str) and len(value) > STRING_CHARS:
        return value[:STRING_CHARS] + "…"
    return value


class Recorder:
    def __init__(self):
        from django.contrib.auth import get_user_model
        from django.test import Client

        from identity.services import token_mint

        self.client = Client()
        # Secrets are shown once: the recorder mints its own token for every user with a role.
        users = get_user_model().objects.filter(role_bindings__isnull=False).distinct()
        self.tokens = {
            user.username: token_mint(user=user, name="api-examples", created_by="docs")[1]
            for user in users
        }
        self.lines: list[str] = []
        self.last: Any = None
        self.aliases: dict[str, str] = {}
        self.index: list[tuple[str, str]] = []

    def alias(self, value: str, variable: str, lookup: str) -> None:
        """Ids differ on every run: later examples use a shell variable set by `lookup`."""
        self.aliases[value] = f"${variable}"
        self.lines += ["```sh", f"{variable}=$({lookup})", "```", ""]

    def text(self, *paragraphs: str) -> None:
        for paragraph in paragraphs:
            self.lines += [paragraph, ""]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str | None = "admin",
        title: str = "",
        headers: dict[str, str] | None = None,
        content_file: str | None = None,
        shorten: bool = True,
        raw: str | None = None,
        raw_type: str = "",
        raw_file: str | None = None,
        excerpt: Callable[[str], str] | None = None,
    ) -> Any:
        extra = dict(headers or {})
        if user:
            extra["Authorization"] = f"Token {self.tokens[user]}"
        kwargs: dict[str, Any] = {"headers": {"Accept": "application/json", **extra}}
        if raw is not None:
            kwargs.update(data=raw.encode(), content_type=raw_type)
        elif body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.client, method.lower())(path, **kwargs)
        curl = ["curl -s"]
        if method != "GET":
            curl.append(f"-X {method}")
        if user:
            variable = {"admin": "$TOKEN", "admin2": "$TOKEN2", "viewer": "$VIEWER_TOKEN"}[user]
            curl.append(f'-H "Authorization: Token {variable}"')
        for name, value in (headers or {}).items():
            curl.append(f"-H '{name}: {value}'")
        prefix = []
        if raw_file:
            # A body that is not JSON (JSON Lines) is sent from its file as it is.
            (ROOT / raw_file).parent.mkdir(parents=True, exist_ok=True)
            (ROOT / raw_file).write_text(raw or "")
            curl.append(f"-H 'Content-Type: {raw_type}'")
            curl.append(f"--data-binary @{raw_file}")
        elif content_file:
            # The pack document comes from a file: jq wraps it into the request body.
            (ROOT / content_file).parent.mkdir(parents=True, exist_ok=True)
            (ROOT / content_file).write_text(json.dumps(body["content"], indent=2) + "\n")
            rest = {key: value for key, value in body.items() if key != "content"}
            jq_filter = f"{json.dumps(rest, ensure_ascii=False)} + {{content: $c[0]}}"
            prefix = [f"jq -n --slurpfile c {content_file} '{jq_filter}' |"]
            curl.append("-H 'Content-Type: application/json'")
            curl.append("-d @-")
        elif body is not None:
            curl.append("-H 'Content-Type: application/json'")
            curl.append(f"-d '{json.dumps(body, ensure_ascii=False)}'")
        shown_path = path
        for value, variable in self.aliases.items():
            shown_path = shown_path.replace(value, variable)
        curl.append(f'"{BASE}{shown_path}"')
        if title:
            self.lines += [f"**{title}**", ""]
        self.lines += ["```sh", *prefix, " \\\n  ".join(curl), "```", ""]
        content_type = response.get("Content-Type", "")
        head = [f"HTTP {response.status_code}"]
        for name in ("Content-Type", "ETag", "Location"):
            if response.get(name):
                head.append(f"{name}: {response[name]}")
        self.lines += ["```http", *head, "```"]
        payload: Any = None
        if getattr(response, "streaming", False):
            raw = b"".join(response.streaming_content)
        else:
            raw = response.content
        if response.status_code != 204 and raw:
            if "json" in content_type:
                payload = json.loads(raw.replace(b"http://testserver", BASE.encode()))
                shown = _shorten(payload) if shorten else payload
                self.lines += ["```json", json.dumps(shown, indent=2, ensure_ascii=False), "```"]
            else:
                text = raw.decode()
                text = (excerpt(text) if excerpt else text)[:600]
                self.lines += ["```text", text.rstrip(), "```"]
        self.lines.append("")
        self.last = response
        return payload

    def endpoint(self, method: str, path: str, summary: str, errors: str = "") -> None:
        heading = f"`{method} {path}`"
        self.index.append((heading, errors))
        self.lines += [f"### {heading}", "", summary, ""]
        if errors:
            self.lines += [f"Errors: {errors}", ""]


def build() -> str:
    _setup()
    r = Recorder()
    t, d = "TENANT_DOCS_001", "DocsDomain"
    r.text(
        "# API reference",
        "Generated by `python -m docs.tools.api_examples`: every example below was produced by "
        "calling the service (a scratch SQLite database seeded with `manage.py seed_demo`). "
        "The OpenAPI 3 document at `/api/schema/` (Swagger UI at `/api/docs/`) is the reference "
        "for every field; this page shows the calls in use. Lists and long values are shortened "
        "with `…`; tokens, timestamps, durations and ids differ on your machine.",
        "## Conventions",
        "- **Auth**: `Authorization: Token <key>` (`manage.py issue_token USER --role ADMIN` "
        "prints one; `make run` prints the demo ones). Set them once: "
        "`TOKEN=<admin token>`, `TOKEN2=<admin2 token>`, `VIEWER_TOKEN=<viewer token>`. "
        "No credentials → 401; a role that may not do it → 403; another tenant's resource for a "
        "tenant-bound principal → 404.",
        "- **Representation**: every `/admin/...` path answers JSON to `Accept: application/json` "
        "(or `*/*`, or `?format=json`) and an HTML page to browsers. Send "
        "`Accept: application/json` from scripts.",
        "- **Bodies** are strict JSON: an unknown field → 400 `unknown_field`; a wrong type → "
        "400 naming the field's path. Bodies over `PACK_MAX_BYTES` → 413 `too_large`. A body "
        "sent chunked (no `Content-Length`) is read when the server ends the stream (gunicorn); "
        "a server that cannot answers 411 `length_required`. An empty `tenant_id` → 400 "
        "`invalid_tenant_id`.",
        "- **Text PostgreSQL cannot store** (NUL, lone surrogates) is refused before any work, "
        "on both databases and both doors: in a path → 404 `not_found`; in a query parameter → "
        "400 `invalid_filter`; in a JSON string or a form field → 400 `invalid_string`; in "
        "`X-Tenant-ID` → 400 `invalid_tenant_id`; each with the parameter's path.",
        "- **Errors** are RFC 9457 problem details (`Content-Type: application/problem+json`): "
        '`{"type": "/errors/<code>", "title", "status", "detail", "code", "errors": '
        '[{"code", "path", "message", "hint"?}]}`; `path` is a JSON Pointer into the body.',
        "- **Lists**: `?page=&page_size=` (default 50, max 200) → "
        '`{"count", "next", "previous", "results"}`; list rows never carry `content_json`. '
        "`page` must be a positive integer (`0`, `-1`, `abc` → 400 `invalid_page`); a page past "
        "the end → 404 `not_found`.",
        "- **Tenant context**: `X-Tenant-ID: <id>` narrows lists for platform principals; a "
        "tenant-bound principal naming another tenant gets 403 `tenant_context_mismatch`.",
        "- Every response carries `X-Request-ID` (also recorded in the audit trail).",
        "- **Unknown paths** answer 404 `not_found` on every method and door, a token- or "
        "session-authenticated write included (no CSRF check runs where nothing lives).",
        "- **Times** are RFC 3339 (`2026-12-06T10:09:22.752468Z`); the management commands "
        "print them in UTC with `Z`, as the API's date-time fields (`onboarding/rfc3339.py`), "
        "never `2026-12-06 10:09:22.752468+00:00`.",
        "- **Pack documents in bodies**: the examples read pack files from `docs/examples/` "
        "(written by the generator) and wrap them into the request body with `jq`; the same "
        "works for any pack file, e.g.:",
    )
    r.lines += [
        "```sh",
        "jq -n --slurpfile c packs/demo/domain_capital_markets.json "
        "'{content: $c[0], version: \"v3.2\"}' \\",
        '  | curl -s -X POST -H "Authorization: Token $TOKEN" '
        "-H 'Content-Type: application/json' \\",
        '    -d @- "http://127.0.0.1:8000/admin/packs/domain/import"',
        "```",
        "",
    ]

    index_at = len(r.lines)
    r.text("## Health and schema")
    r.endpoint("GET", "/healthz", "Liveness and database check, no authentication.")
    r.call("GET", "/healthz", user=None)
    r.endpoint(
        "GET",
        "/metrics",
        "Prometheus text: every metric of docs/operability.md, summed over the server's "
        "processes. A token or session of a platform-wide role (VIEWER or ADMIN).",
        "401, 403 `platform_role_required`",
    )
    r.call(
        "GET",
        "/metrics",
        user="viewer",
        headers={"Accept": "text/plain"},
        excerpt=_metrics_excerpt,
    )
    r.endpoint(
        "GET",
        "/api/schema/",
        "The OpenAPI 3 document (YAML; `?format=json` for JSON). Swagger UI at `/api/docs/`, "
        "served without any CDN.",
    )

    r.text("## Tenants")
    r.endpoint(
        "POST",
        "/admin/tenants",
        "Create a tenant (platform ADMIN). `tenant_id` matches `^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$`; "
        "`require_activation_approval` is `true`, `false` or `null` (follow the global setting, "
        "`GET /admin/platform/settings`).",
        "400 `invalid_tenant_id`, 400 `unknown_field`, 401, 403, 409 `tenant_exists` (ids are "
        "unique whatever their case; the problem names the existing id in "
        "`existing_tenant_id`).",
    )
    r.call("POST", "/admin/tenants", {"tenant_id": t, "name": "Docs Tenant"}, title="Create")
    r.call("POST", "/admin/tenants", {"tenant_id": t, "name": "Again"}, title="Same id again → 409")
    r.call(
        "POST",
        "/admin/tenants",
        {"tenant_id": "bad id!", "name": "x"},
        title="Invalid id → 400",
    )
    r.call(
        "POST",
        "/admin/tenants",
        {"tenant_id": "TENANT_X", "name": "x", "require_approval": True},
        title="Unknown field → 400",
    )
    r.call(
        "POST",
        "/admin/tenants",
        {"tenant_id": "TENANT_X", "name": "x"},
        user=None,
        title="No credentials → 401",
    )
    r.call(
        "POST",
        "/admin/tenants",
        {"tenant_id": "TENANT_X", "name": "x"},
        user="viewer",
        title="VIEWER → 403",
    )

    r.endpoint(
        "GET",
        "/admin/tenants",
        "List tenants visible to the caller. Filters: "
        "`status`, `search` (id or name), `page`, `page_size`.",
        "400 `invalid_filter`.",
    )
    r.call("GET", "/admin/tenants?search=TENANT&page_size=2")

    r.endpoint(
        "GET",
        "/admin/tenants/{tenant_id}",
        "One tenant with its `active_config` (or `null`).",
        "404 `tenant_not_found`.",
    )
    r.call("GET", "/admin/tenants/TENANT_FINANCE_001")
    r.call("GET", "/admin/tenants/NO_SUCH_TENANT", title="Unknown → 404")

    r.endpoint(
        "PATCH",
        "/admin/tenants/{tenant_id}",
        "Change `name` and/or `require_activation_approval` (`true`, `false`, or `null` to "
        "follow the global setting). Renaming needs ADMIN on the tenant; changing the approval "
        "policy needs a platform-wide ADMIN, so a tenant's own admins cannot switch off "
        "four-eyes over themselves. Strengthening applies at once (200). A change that would "
        "switch approval off while it applies to the tenant (to `false`, or to `null` while the "
        "global setting is off) is itself a change request: 202 `{change_request}` with "
        "`kind: policy`, applied when a second ADMIN (platform, or of this tenant) approves it "
        "through `/admin/config-changes/{id}/approve`.",
        "400, 403 `platform_admin_required`, 404.",
    )
    r.call(
        "PATCH",
        f"/admin/tenants/{t}",
        {"require_activation_approval": True},
        title="Strengthening → 200, at once",
    )
    weakening = r.call(
        "PATCH",
        f"/admin/tenants/{t}",
        {"require_activation_approval": False},
        title="Switching approval off → 202, a change request",
    )
    cr = (
        (weakening or {})
        .get("change_request", {})
        .get("id", "00000000-0000-0000-0000-000000000000")
    )
    r.alias(cr, "CR", PENDING_LOOKUP)
    r.call(
        "POST",
        f"/admin/config-changes/{cr}/approve",
        {"comment": "ok for the docs tenant"},
        user="admin2",
        title="(a second ADMIN approves it: the policy applies)",
    )

    r.endpoint(
        "PATCH",
        "/admin/tenants/{tenant_id}/status",
        "Suspend or re-activate. A SUSPENDED tenant cannot be activated and its runtime "
        "config answers 409 `tenant_suspended`. A suspension by a platform ADMIN is lifted only "
        "by a platform ADMIN (a tenant's own ADMIN gets 403 `platform_admin_required`).",
        "400 `invalid_status`, 403 `admin_required`, `platform_admin_required`, 404.",
    )
    r.call("PATCH", f"/admin/tenants/{t}/status", {"status": "SUSPENDED", "reason": "docs"})
    r.call("PATCH", f"/admin/tenants/{t}/status", {"status": "ACTIVE"})
    r.call("PATCH", f"/admin/tenants/{t}/status", {"status": "PAUSED"}, title="Bad status → 400")

    r.text("## Packs")
    r.endpoint(
        "POST",
        "/admin/packs/validate",
        "Validate without storing. Always 200 with the report when the request is well formed "
        "(`valid: false` for a bad pack); 400 only for a malformed request or a pack the strict "
        "intake refuses. A tenant pack is checked against `domain_pack_version`, else the "
        "tenant's active one, else the newest non-deprecated one.",
        "400 (request), 401.",
    )
    r.call(
        "POST",
        "/admin/packs/validate",
        {"pack_type": "domain", "content": DOCS_DOMAIN},
        content_file="docs/examples/docs-domain.json",
        title="A valid domain pack",
    )
    bad = json.loads(json.dumps(DOCS_DOMAIN))
    bad["severityRules"][0]["if"] = bad["severityRules"][0].pop("condition")
    bad["playbooks"][0]["steps"][1]["tool"] = "retrySettlment"
    r.call(
        "POST",
        "/admin/packs/validate",
        {"pack_type": "domain", "content": bad},
        content_file="docs/examples/docs-domain-invalid.json",
        title="An invalid one (still 200)",
    )

    r.endpoint(
        "POST",
        "/admin/packs/domain/import",
        "Import a domain pack version (platform ADMIN). Body `{content, version?, domain?}`. "
        "201 with the pack and its `validation` report; 200 when the same version with the same "
        "checksum exists (nothing written). `version` and the content's `version` must agree "
        "(the content's spelling is stored); content identical to another version of the domain "
        "is stored with a `duplicate_content` warning naming it. Every refusal is a "
        "`pack.import_rejected` audit row with `details.reason`.",
        "400 `pack_invalid` (the report's errors in `errors`), 400 `invalid_version`, "
        "400 `version_mismatch`, 400 `domain_mismatch`, 409 `version_exists`, 413 `too_large`.",
    )
    r.lines += [
        "The pack used in these examples:",
        "",
        "```json",
        json.dumps(DOCS_DOMAIN, indent=2),
        "```",
        "",
    ]
    body = {"content": DOCS_DOMAIN, "version": "v1.0"}
    r.call(
        "POST",
        "/admin/packs/domain/import",
        body,
        content_file="docs/examples/docs-domain.json",
        title="Import v1.0 → 201",
    )
    r.call(
        "POST",
        "/admin/packs/domain/import",
        body,
        content_file="docs/examples/docs-domain.json",
        title="Same content, same version → 200",
    )
    changed = json.loads(json.dumps(DOCS_DOMAIN))
    changed["tools"]["escalate"] = {"description": "Escalate to a human."}
    r.call(
        "POST",
        "/admin/packs/domain/import",
        {"content": changed, "version": "1.0"},
        content_file="docs/examples/docs-domain-changed.json",
        title="Other content under an equal version → 409",
    )
    r.call(
        "POST",
        "/admin/packs/domain/import",
        {"content": bad, "version": "v9"},
        content_file="docs/examples/docs-domain-invalid.json",
        title="Invalid → 400",
    )
    r.call(
        "POST",
        "/admin/packs/domain/import",
        {"content": changed},
        content_file="docs/examples/docs-domain-changed.json",
        title="No version: the next one (v1.1)",
    )
    r.call(
        "POST",
        "/admin/packs/domain/import",
        # Checked before validation: a document this short is enough to show it.
        {"content": {"domainName": d, "version": "v2.0"}, "version": "v3.0"},
        title="The body's version and the content's differ → 400",
    )
    r.call(
        "POST",
        "/admin/packs/domain/import",
        {"content": DOCS_DOMAIN, "version": "v1.0.1"},
        content_file="docs/examples/docs-domain.json",
        title="The content of v1.0 under a new version → 201 with a duplicate_content warning",
    )

    r.endpoint(
        "GET",
        "/admin/packs/domain",
        "Domain packs, newest version first. Filters: "
        "`domain`, `status`, `page`, `page_size`. Readable by every principal.",
    )
    r.call("GET", f"/admin/packs/domain?domain={d}")
    r.endpoint(
        "GET",
        "/admin/packs/domain/{domain}/{version}",
        "One version with `content_json` and its stored `validation_warnings`.",
        "404 `domain_pack_not_found`.",
    )
    r.call("GET", f"/admin/packs/domain/{d}/v1.0")
    r.endpoint(
        "GET",
        "/admin/packs/domain/{domain}/diff?from=V1&to=V2",
        "Structural diff: `added` (`{path, new}`), `removed` (`{path, old}`) and `changed` "
        "(`{path, old, new, old_path?}`) JSON Pointers (RFC 6901). Objects are compared key by "
        "key; array items by identity where they have one: playbooks by `playbookId`, else "
        "`exceptionType`; `customSeverityOverrides` by `exceptionType`; `humanApprovalRules` by "
        "`severity`; `testSuites` by `name`; lists of distinct strings (`approvedTools`, allow "
        "and block lists) by the string; everything else (`severityRules`, playbook `steps`) by "
        "index. `path` is the pointer in the `to` version (in `from` for a removal); a matched "
        "item that moved carries `old_path`, its pointer in `from`; a move alone is no change. "
        "An entry under an item matched by identity also carries `label`, its steps as people "
        'read them (`["humanApprovalRules", "HIGH", "requireApproval"]` for '
        "`/humanApprovalRules/1/requireApproval`), which the review page, the preview and the "
        "audit trail show. The activation preview's `effective_config_diff` and a change "
        "request's review `diff` have the same shape.",
        "400 when `from`/`to` is missing, 404 unknown version.",
    )
    r.call("GET", f"/admin/packs/domain/{d}/diff?from=v1.0&to=v1.1")

    r.endpoint(
        "POST",
        "/admin/packs/tenant/import",
        "Import a tenant pack version (ADMIN of the tenant). Body `{tenant_id, content, "
        "version?, domain_pack_version?}`; checked against a domain pack version as for "
        "validate (recorded on the pack; `export_packs` writes it to its manifest). Versions, "
        "`duplicate_content` and refusal audit rows as for domain packs.",
        "400 `pack_invalid`, 400 `tenant_mismatch` (content `tenantId` ≠ `tenant_id`), "
        "400 `invalid_version`, 400 `version_mismatch`, 404 `tenant_not_found`, "
        "409 `version_exists`.",
    )
    r.lines += [
        "The tenant pack used in these examples:",
        "",
        "```json",
        json.dumps(DOCS_TENANT, indent=2),
        "```",
        "",
    ]
    r.call(
        "POST",
        "/admin/packs/tenant/import",
        {"tenant_id": t, "content": DOCS_TENANT, "version": "v1.0", "domain_pack_version": "v1.0"},
        content_file="docs/examples/docs-tenant.json",
        title="Import → 201",
    )
    r.call(
        "POST",
        "/admin/packs/tenant/import",
        {"tenant_id": "TENANT_FINANCE_001", "content": DOCS_TENANT},
        content_file="docs/examples/docs-tenant.json",
        title="Wrong tenant → 400",
    )
    tenant_v2 = {**DOCS_TENANT, "approvedTools": ["getSettlement", "retrySettlement"]}
    r.call(
        "POST",
        "/admin/packs/tenant/import",
        {"tenant_id": t, "content": tenant_v2, "version": "v1.1"},
        content_file="docs/examples/docs-tenant-v1.1.json",
        title="A second version",
    )

    r.endpoint(
        "GET",
        "/admin/packs/tenant/{tenant_id}",
        "The tenant's pack versions, newest first. Filters: `status`, `page`.",
        "404 unknown or invisible tenant.",
    )
    r.call("GET", f"/admin/packs/tenant/{t}")
    r.endpoint(
        "GET",
        "/admin/packs/tenant/{tenant_id}/{version}",
        "One version with `content_json`.",
        "404 `tenant_pack_not_found`.",
    )
    r.call("GET", f"/admin/packs/tenant/{t}/v1.0")
    r.endpoint("GET", "/admin/packs/tenant/{tenant_id}/diff?from=V1&to=V2", "As for domain packs.")
    r.call("GET", f"/admin/packs/tenant/{t}/diff?from=v1.0&to=v1.1")

    r.endpoint(
        "GET",
        "/admin/packs/schema/{domain|tenant}",
        "The JSON Schema (Draft 2020-12) the validator uses.",
        "404 `schema_not_found`.",
    )
    r.call("GET", "/admin/packs/schema/tenant")

    r.endpoint(
        "PATCH",
        "/admin/packs/domain/{domain}/{version}/status",
        "Move a version's status (`DRAFT`→`ACTIVE`|`DEPRECATED`, `ACTIVE`→`DEPRECATED`, "
        "`DEPRECATED`→`ACTIVE`). The same for `/admin/packs/tenant/{tenant_id}/{version}/status`.",
        "400 `invalid_status`, 409 `invalid_transition`, 409 `pack_in_use` (naming the tenants), "
        "409 `pack_pending_approval` (deprecating a version that a PENDING or SCHEDULED change "
        "request names; `change_requests` lists them: reject or cancel them first).",
    )
    r.call(
        "PATCH",
        "/admin/packs/domain/CapitalMarketsTrading/v3.2/status",
        {"status": "DEPRECATED"},
        title="Active for a tenant → 409",
    )
    r.call(
        "PATCH",
        f"/admin/packs/domain/{d}/v1.1/status",
        {"status": "DEPRECATED"},
        title="An unused DRAFT → 200",
    )
    r.call(
        "PATCH",
        f"/admin/packs/domain/{d}/v1.1/status",
        {"status": "DRAFT"},
        title="Not an allowed move → 409",
    )
    r.endpoint("PATCH", "/admin/packs/tenant/{tenant_id}/{version}/status", "See above.")

    r.text("## Decision impact: sample sets")
    r.text(
        "A dry run, a rollback preview and a pending change request carry `impact`: every "
        "sample exception evaluated under the current and the proposed configuration, with the "
        "samples whose severity, playbook or approval change. Samples are the packs' "
        "`testSuites` plus the tenant's own sample set. `impact` is `{samples, evaluated, "
        "changed, errors, partial, truncated, changes: [{source, exception_type, before, "
        "after}], sources: {packs, tenant}}`; `before`/`after` are `{severity, playbook, "
        "approval}`, `{error}` for a sample that side cannot evaluate (counted in `errors`), or "
        "`null` where nothing is served. At most `IMPACT_MAX_CHANGES` (100) changes are listed "
        "(`truncated`); the run stops after `IMPACT_TIME_BUDGET_MS` (3000) with `partial: true`.",
    )
    r.endpoint(
        "PUT",
        "/admin/tenants/{tenant_id}/samples",
        "Replace the tenant's sample set (ADMIN of the tenant or platform ADMIN): JSON Lines "
        "(`application/x-ndjson`, `application/jsonl` or `text/plain`), at most 10,000 lines "
        "(`IMPACT_MAX_SAMPLES`) of at most 64 KiB (`IMPACT_SAMPLE_MAX_LINE_BYTES`), each exactly "
        "`{exception_type, payload}` with `payload` an object; blank lines are skipped, an empty "
        "body empties the set. Every line passes the strict intake (NUL, numbers outside 64 "
        "bits, NaN, duplicate keys, deep nesting refused). Audited as `tenant.samples_replaced`; "
        "a refused upload changes nothing.",
        "400 `invalid_samples` (each finding names `/lines/<n>` and carries the line's own code), "
        "400 `too_many_samples`, 403, 404, 413, 415 `unsupported_media_type`.",
    )
    samples = (
        '{"exception_type": "PRICE_BREAK", "payload": {"desk": "FX"}}\n'
        '{"exception_type": "LATE_SETTLEMENT", "payload": {"daysLate": 5}}\n'
        '{"exception_type": "LATE_SETTLEMENT", "payload": {"daysLate": 1, "confidence": 0.4}}\n'
    )
    r.call(
        "PUT",
        f"/admin/tenants/{t}/samples",
        raw=samples,
        raw_type="application/x-ndjson",
        raw_file="docs/examples/docs-samples.jsonl",
        title="Upload three samples",
    )
    r.call(
        "PUT",
        f"/admin/tenants/{t}/samples",
        raw='{"exception_type": "PRICE_BREAK", "payload": {}}\n{"exception_type": "X"}\n',
        raw_type="application/x-ndjson",
        raw_file="docs/examples/docs-samples-invalid.jsonl",
        title="A line without its payload → 400, nothing changed",
    )
    r.endpoint(
        "GET",
        "/admin/tenants/{tenant_id}/samples",
        "The sample set (`count`, `checksum`, `uploaded_by`, `uploaded_at`, `samples` in upload "
        "order); tenant readers. Browsers get the sample set page (upload a file or paste the "
        "lines; the tenant page has the same form).",
        "404.",
    )
    r.call("GET", f"/admin/tenants/{t}/samples", user="viewer")

    r.text("## Activation, approvals, history")
    r.endpoint(
        "POST",
        "/admin/packs/activate",
        "Activate a (domain pack, tenant pack) pair for a tenant. Body `{tenant_id, domain?, "
        "domain_pack_version?, tenant_pack_version?, expected_revision?, comment?, dry_run?, "
        "apply_at?}`; "
        "omitted versions keep their current value; the domain comes from `domain`, else the "
        "tenant pack's `domainName`, else the current one. 200 with the active config "
        "(`changed: false` and nothing written when equal to the current one); 202 with a "
        "PENDING change request when the tenant's policy requires approval; 202 with a "
        "SCHEDULED one with `apply_at` (below); `dry_run: true` → 200 preview, nothing written "
        "(its `effective_config_diff` has the shape of the pack diff).",
        "400 `unknown_pack_version`, 400 `domain_required`, 400 `invalid_tenant_id` (empty), "
        "404, 409 `tenant_suspended`, `pack_deprecated`, `incompatible_packs`, "
        "`incompatible_playbook_links`, `revision_conflict`, `pack_integrity_failure` (a stored "
        "pack no longer matches its checksum; also refused at approval and rollback, listed by "
        "a dry run).",
    )
    r.call(
        "PATCH",
        f"/admin/tenants/{t}",
        {"require_activation_approval": False},
        title="(first, turn approval off for this tenant)",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {
            "tenant_id": t,
            "domain_pack_version": "v1.0",
            "tenant_pack_version": "v1.0",
            "dry_run": True,
        },
        title="Preview (dry run)",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {
            "tenant_id": t,
            "domain_pack_version": "v1.0",
            "tenant_pack_version": "v1.0",
            "comment": "first activation",
        },
        title="Apply → 200",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "domain_pack_version": "v1.0", "tenant_pack_version": "v1.0"},
        title="Same again → 200, changed: false",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "tenant_pack_version": "v7"},
        title="Unknown version → 400",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "tenant_pack_version": "v1.1", "expected_revision": 0},
        title="Stale expected_revision → 409",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "tenant_pack_verison": "v1.1"},
        title="Typo in a field → 400",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "tenant_pack_version": "v1.1"},
        title="Move to tenant pack v1.1",
    )

    r.text(
        "**Scheduled activation**: with `apply_at` (strict RFC 3339 `date-time`: ASCII digits, "
        "extended format, `T`, seconds, optional fraction, `Z` or an offset `±HH:MM` up to "
        "±23:59, stored in UTC; in the future, at most 90 days ahead) the answer is 202 with a "
        "change request in status `SCHEDULED` (PENDING first when approval applies; approving it "
        "then schedules it). Approving a PENDING request whose `apply_at` has passed does not "
        "apply it: 409 `apply_at_passed`, and the request ends `STALE` with `status_reason: "
        "apply_at_passed` (ask again with a new time). `manage.py "
        "run_worker` applies it within about a second of `apply_at`, re-running every check "
        "(suspension, deprecation, compatibility, playbook links, and the tenant's revision: "
        "one that moved since the request makes it STALE). A failing check ends it `STALE` with "
        "`status_reason`; until it is applied, `POST /admin/config-changes/{id}/cancel` cancels "
        "it. Audit actions and webhook events: `change_request.scheduled`, then "
        "`config.activated` and `change_request.applied`, or `change_request.stale`. Bad "
        "`apply_at`: 400 `invalid_apply_at` (also for `٢٠٢٦-…` digits, the basic format "
        "`20261206T110709Z`, no seconds, an offset past ±23:59), `apply_at_in_past`, "
        "`apply_at_too_far`."
    )
    scheduled = r.call(
        "POST",
        "/admin/packs/activate",
        {
            "tenant_id": t,
            "tenant_pack_version": "v1.0",
            "apply_at": _soon(),
            "comment": "maintenance window",
        },
        title="Schedule → 202 SCHEDULED",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "tenant_pack_version": "v1.0", "apply_at": "2020-01-01T00:00:00Z"},
        title="apply_at in the past → 400",
    )
    scheduled_id = (scheduled or {}).get("change_request", {}).get("id", "0")
    r.alias(
        scheduled_id,
        "SCHEDULED",
        'curl -s -H "Authorization: Token $TOKEN" '
        '"http://127.0.0.1:8000/admin/config-changes?status=SCHEDULED&tenant_id=TENANT_DOCS_001" '
        "| jq -r '.results[0].id'",
    )
    r.call(
        "POST",
        f"/admin/config-changes/{scheduled_id}/cancel",
        {"comment": "window moved"},
        title="Cancel it before it applies",
    )

    r.endpoint(
        "GET", "/admin/tenants/{tenant_id}/activations", "Activation history, newest first.", "404."
    )
    r.call("GET", f"/admin/tenants/{t}/activations")
    r.endpoint(
        "GET",
        "/admin/tenants/{tenant_id}/convergence",
        "Which revision of the tenant's configuration each serving process answers with, from "
        "the heartbeats the processes write at most every 5 s; a process silent for three "
        "heartbeat intervals (at least 10 s) is left "
        "out. `checksum` is SHA-256 of `<domain pack checksum>:<tenant pack checksum>`; "
        "`converged` is true when every listed process serves the active revision and pair, "
        "false while one does not (`state: converging`), and null with `state: not_served` and a "
        "`reason` when no live process serves the tenant (as here: the generator runs no "
        "server). A process deregisters when it exits (SIGTERM included), so a recycled worker "
        "is never listed as behind. Each process "
        "is `{process_id, host, pid, revision, checksum, seen_at, current}`. Tenant-scoped like "
        "every tenant read. Browsers get the panel of the tenant page. While a rollout's canary "
        "runs on the tenant, the answer adds `candidate` `{rollout_id, checksum, converged}` and "
        "each process `candidate_checksum` and `candidate_current` (docs/rollouts.md).",
        "404.",
    )
    r.call("GET", f"/admin/tenants/{t}/convergence")
    r.endpoint(
        "POST",
        "/admin/tenants/{tenant_id}/rollback",
        "Re-apply the pair of an earlier revision (`to_revision`, default the previous "
        "one) as a new revision; same policy and checks as activate. Body "
        "`{to_revision?, expected_revision?, comment?, dry_run?}`.",
        "409 `no_previous_revision`, 400 `unknown_revision`, and those of activate.",
    )
    r.call("POST", f"/admin/tenants/{t}/rollback", {"comment": "back to v1.0"})

    r.text(
        "### Approvals (four eyes)",
        "With `require_activation_approval: true` on the tenant (or the global setting on, "
        "`/admin/platform/settings`, and the tenant following it), activate and rollback answer "
        "202 with a PENDING change request; another ADMIN approves it. One PENDING request per "
        "tenant: a new one ends the older STALE with `status_reason: superseded` (policy "
        "requests supersede only policy requests of the same scope). A refused approve, reject "
        "or cancel (403, 409) is an audit row too: `change_request.review_refused`, in the "
        "request's tenant.",
    )
    r.call("PATCH", f"/admin/tenants/{t}", {"require_activation_approval": True})
    pending = r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "tenant_pack_version": "v1.1", "comment": "approve me"},
        title="Activate → 202 PENDING",
    )
    cr = (pending or {}).get("change_request", {}).get("id", "00000000-0000-0000-0000-000000000000")
    r.alias(
        cr,
        "CR",
        PENDING_LOOKUP,
    )
    r.endpoint(
        "GET", "/admin/config-changes", "Change requests. Filters: `status`, `tenant_id`, `page`."
    )
    r.call("GET", "/admin/config-changes?status=PENDING")
    r.endpoint(
        "GET",
        "/admin/config-changes/{id}",
        "One change request with what its reviewer decides on: `diff`, the effective-config "
        "diff (shape of the pack diff) from the configuration at its `base_revision` to its pair, "
        "and `impact` (see *Decision impact*), computed once on the worker (queue `impact`) and "
        "stored: `impact.status` is `pending` until the worker has it (every other field null), "
        "then `ready` with `computed_at` and the `budget_ms` it ran with (a `partial: true` run "
        "is stored and shown too; a read never recomputes it). Readers of the tenant. Browsers "
        "get the review page, with the approve and reject forms; its impact section polls while "
        "pending.",
        "404 `change_request_not_found` (also for another tenant's request).",
    )
    from onboarding.worker import drain

    drain(queues=("impact",))  # the worker computes the review's impact
    r.call("GET", f"/admin/config-changes/{cr}", user="viewer")
    r.endpoint(
        "POST",
        "/admin/config-changes/{id}/approve",
        "Approve (ADMIN, not the requester): re-checks and applies. Body `{comment?}`.",
        "403 `self_approval`, 404 `change_request_not_found`, 409 `not_pending`, "
        "409 `stale_change_request` (the tenant's revision moved since the request).",
    )
    r.call("POST", f"/admin/config-changes/{cr}/approve", {}, title="By the requester → 403")
    r.call(
        "POST",
        f"/admin/config-changes/{cr}/approve",
        {"comment": "looks right"},
        user="admin2",
        title="By another ADMIN → 200",
    )
    r.call("POST", f"/admin/config-changes/{cr}/approve", {}, user="admin2", title="Again → 409")
    r.endpoint(
        "POST",
        "/admin/config-changes/{id}/reject",
        "Reject (an ADMIN of the request's scope other than its requester, who cancels instead; "
        "a platform ADMIN may reject any request, a SCHEDULED one included). Body `{comment?}`.",
        "403 `self_rejection`, 404, 409 `not_pending`.",
    )
    pending = r.call(
        "POST",
        f"/admin/tenants/{t}/rollback",
        {"comment": "roll back?"},
        title="(a rollback waits for approval too)",
    )
    cr = (pending or {}).get("change_request", {}).get("id", cr)
    r.alias(
        cr,
        "CR",
        PENDING_LOOKUP,
    )
    r.call("POST", f"/admin/config-changes/{cr}/reject", {"comment": "not now"}, user="admin2")
    r.endpoint(
        "POST",
        "/admin/config-changes/{id}/cancel",
        "Withdraw a PENDING or SCHEDULED request: its requester only (anyone else rejects it). "
        "Body `{comment?}`.",
        "403 `not_requester`, 404, 409 `not_pending`.",
    )
    pending = r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": t, "tenant_pack_version": "v1.0"},
        title="(another request)",
    )
    cr = (pending or {}).get("change_request", {}).get("id", cr)
    r.alias(
        cr,
        "CR",
        PENDING_LOOKUP,
    )
    r.call("POST", f"/admin/config-changes/{cr}/cancel", {"comment": "changed my mind"})

    _rollouts(r, t, d)

    r.text("## Platform settings")
    r.endpoint(
        "GET",
        "/admin/platform/settings",
        "The platform settings row (platform ADMIN): `require_activation_approval` applies to "
        "every tenant that follows the global setting. Every server process, command "
        "(`import_packs --activate`, `activate`, `seed_demo`) and worker reads this row; the "
        "environment variable `PACK_ACTIVATION_REQUIRES_APPROVAL` only seeds it at the first "
        "migration.",
        "401, 403 `platform_admin_required`.",
    )
    r.call("GET", "/admin/platform/settings")
    r.endpoint(
        "PATCH",
        "/admin/platform/settings",
        "Body `{require_activation_approval}` (a JSON boolean). Switching approval on applies "
        "at once (200, audit `platform.settings_changed`); switching it off answers 202 with a "
        "PENDING change request (`kind: policy`, `tenant_id: null`) that another platform ADMIN "
        "approves.",
        "400 `wrong_type`, `unknown_field`, 401, 403 `platform_admin_required`.",
    )
    r.call(
        "PATCH",
        "/admin/platform/settings",
        {"require_activation_approval": True},
        title="On → 200, at once",
    )
    weakening = r.call(
        "PATCH",
        "/admin/platform/settings",
        {"require_activation_approval": False},
        title="Off → 202, a change request",
    )
    cr = (weakening or {}).get("change_request", {}).get("id", cr)
    r.alias(
        cr,
        "CR",
        'curl -s -H "Authorization: Token $TOKEN" '
        '"http://127.0.0.1:8000/admin/config-changes?status=PENDING" '
        "| jq -r '.results[0].id'",
    )
    r.call(
        "POST",
        f"/admin/config-changes/{cr}/approve",
        {},
        user="admin2",
        title="(another platform ADMIN approves: approval is off again)",
    )
    r.call(
        "PATCH",
        "/admin/platform/settings",
        {"require_activation_approval": "yes"},
        title="Not a boolean → 400",
    )

    r.text("## Playbooks")
    r.endpoint(
        "GET",
        "/admin/playbooks",
        "The playbook registry: domain playbooks and tenant custom playbooks with their tools, "
        "whether each is linked for the tenant and compatible with its active configuration. "
        "Filters: `tenant_id`, `domain`.",
        "400 `tenant_id_or_domain_required` (neither parameter given), 400 `domain_required` "
        "(the tenant has no active domain and no tenant pack), 400 `tenant_id_required`, 404 "
        "`tenant_not_found`.",
    )
    r.call("GET", "/admin/playbooks?tenant_id=TENANT_FINANCE_001")
    r.endpoint(
        "POST",
        "/admin/playbooks/links",
        "Link a playbook for a tenant, following the tenant's active domain pack version "
        "or pinned to `domain_pack_version`. Body `{tenant_id, playbook_id, domain?, "
        "domain_pack_version?}`.",
        "404 `playbook_not_found`, 409 `link_exists`, 409 `incompatible_playbook` with "
        "the reasons.",
    )
    link = r.call(
        "POST",
        "/admin/playbooks/links",
        {"tenant_id": t, "playbook_id": "LATE_SETTLEMENT"},
        title="Link → 201",
    )
    r.call(
        "POST",
        "/admin/playbooks/links",
        {"tenant_id": t, "playbook_id": "LATE_SETTLEMENT"},
        title="Again → 409",
    )
    r.call(
        "POST",
        "/admin/playbooks/links",
        {"tenant_id": t, "playbook_id": "NO_SUCH"},
        title="Unknown playbook → 404",
    )
    r.endpoint("DELETE", "/admin/playbooks/links/{id}", "Unlink.", "404 `playbook_link_not_found`.")
    link_id = str((link or {}).get("id", 0))
    r.alias(
        f"/links/{link_id}",
        "LINK_ID",
        'curl -s -H "Authorization: Token $TOKEN" '
        '"http://127.0.0.1:8000/admin/playbooks?tenant_id=TENANT_DOCS_001" '
        "| jq -r '.results[] | select(.linked) | .link_id'",
    )
    r.aliases[f"/links/{link_id}"] = "/links/$LINK_ID"
    r.call("DELETE", f"/admin/playbooks/links/{link_id}")

    r.text("## Audit")
    r.endpoint(
        "GET",
        "/admin/audit",
        "The hash-chained audit trail, newest first (occurred_at, then id). Filters: "
        "`tenant_id`, `action`, `actor`, `object_type`, `domain`, `version`, `since`, `until` "
        "(ISO 8601); `page_size` (1 to 200, default 50). Pages go by keyset: `next` and `previous` "
        "are links carrying an opaque, signed `cursor` (the filters stay in the link; a page "
        "costs the same however deep). `count` is exact up to `AUDIT_EXACT_COUNT_LIMIT` "
        "matches (1,000), beyond it the planner's estimate with `count_is_estimate: true`. "
        "`?format=csv` streams every match as CSV.",
        "400 `invalid_filter`, `invalid_cursor` (a cursor this service did not give out), "
        "`invalid_page` (`page` other than 1: follow `next`).",
    )
    listed = r.call("GET", f"/admin/audit?tenant_id={t}&action=config.activated&page_size=1")
    r.call(
        "GET",
        f"/admin/audit?tenant_id={t}&page_size=2&format=csv",
        headers={"Accept": "text/csv"},
        title="CSV",
    )
    r.endpoint(
        "GET",
        "/admin/audit/{id}",
        "One audit event (the same fields as a row of the list); browsers get its page.",
        "404 `audit_event_not_found` (unknown, or not visible to the caller).",
    )
    r.call("GET", f"/admin/audit/{listed['results'][0]['id']}")

    r.text("## Webhooks")
    r.text(
        "Signed HTTP callbacks for `pack.imported`, `pack.import_rejected`, `config.activated`, "
        "`config.rolled_back`, `change_request.created|approved|rejected|stale|cancelled|"
        "scheduled|applied` and `tenant.status_changed`. Platform ADMINs manage every "
        "subscription; a tenant ADMIN manages those of its tenants (`tenant_id`), which "
        "receive only that tenant's events. "
        "VIEWERs see none (a URL may carry a receiver's token).",
        "Each event is written to an outbox in the transaction of the change, beside its audit "
        "row (a change that rolls back sends nothing), and sent by `manage.py run_worker` as "
        "`POST <url>` with the body `{id, type, occurred_at, tenant_id, data}` — `data` holds "
        "`action`, `actor`, `summary`, `object_type`, `object_id`, `domain`, `version`, "
        "`checksum` and the audit row's `details` (left out, with `details_omitted: true`, above "
        "64 KiB) — and the Standard Webhooks headers `webhook-id` (the event id, the same on "
        "every retry and redelivery: dedupe on it), `webhook-timestamp` and "
        "`webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`. A 2xx answer is "
        "success; anything else (redirects are not followed) is retried with exponential "
        "backoff, 10 attempts over about 33 hours by default, every attempt kept. Private, "
        "loopback, link-local, site-local, unique-local, multicast and reserved addresses, and "
        "names of this machine (`localhost`, `*.localhost`, `localhost.localdomain`, with or "
        "without the trailing dot), are refused (at subscription and, after DNS resolution, at "
        "every send) unless `WEBHOOK_ALLOW_PRIVATE=true`.",
        "Isolation: an attempt never lasts longer than `WEBHOOK_ATTEMPT_TIMEOUT` (the connection "
        "is cut, whatever the receiver still sends). One endpoint has at most "
        "`WEBHOOK_ENDPOINT_MAX_IN_FLIGHT` attempts running, one tenant "
        "`WEBHOOK_TENANT_MAX_IN_FLIGHT`; the other deliveries wait their turn, in order. "
        "Endpoints that time out or answer slowly are served by loops of their own. After "
        "`WEBHOOK_BREAKER_THRESHOLD` failed attempts in a row an endpoint is **paused** "
        "(`paused_at`, `paused_until`, `pause_reason` on the webhook; audit `webhook.paused`): "
        "its deliveries wait without using attempts, one probe goes out after "
        "`WEBHOOK_BREAKER_COOLDOWN_SECONDS`, and a success resumes it (audit `webhook.resumed`), "
        "as does `POST /admin/webhooks/{id}/resume` (an ADMIN of the webhook; 409 "
        "`webhook_not_paused` otherwise) or a new URL. A tenant has at most "
        "`WEBHOOK_MAX_SUBSCRIPTIONS_PER_TENANT` webhooks (409 `webhook_limit_reached`); "
        "redeliveries are limited per principal and per client (`RATE_LIMIT_WEBHOOK_REDELIVER`, "
        "429 `rate_limited` with `Retry-After`). Webhook bodies, audit rows and logs never hold "
        "a credential: URL userinfo, query and fragment values and secret-looking path segments "
        "read `***`.",
        "Verify a delivery in the receiver with the `standardwebhooks` library:",
        "```python\n"
        "from standardwebhooks.webhooks import Webhook\n\n"
        "event = Webhook(SECRET).verify(request_body_bytes, request_headers)  # raises if forged\n"
        'if already_seen(event["id"]):  # at-least-once: drop repeats\n'
        "    return 200\n"
        "```",
    )
    r.endpoint(
        "POST",
        "/admin/webhooks",
        "Subscribe a URL. Body `{url, events: [...], tenant_id?, active?}` (no `tenant_id`: "
        "every event, platform ADMIN only). 201 with the signing `secret` (`whsec_…`) — shown "
        "in this answer only; it is stored encrypted under a key derived from `SECRET_KEY`.",
        "400 `invalid_webhook_url`, 400 `webhook_url_forbidden`, 400 `invalid_event_type`, "
        "400 `unknown_field`, 403 `admin_required`, 403 `platform_admin_required`, "
        "404 `tenant_not_found`, 409 `webhook_limit_reached`.",
    )
    hook = r.call(
        "POST",
        "/admin/webhooks",
        {
            "url": "https://hooks.example.com/onboarding",
            "events": ["config.activated", "config.rolled_back", "change_request.created"],
            "tenant_id": t,
        },
        title="Create → 201, the secret once",
    )
    r.call(
        "POST",
        "/admin/webhooks",
        {"url": "http://169.254.169.254/latest/meta-data", "events": ["pack.imported"]},
        title="An internal address → 400",
    )
    r.call(
        "POST",
        "/admin/webhooks",
        {"url": "https://hooks.example.com/x", "events": ["config.activate"]},
        title="Unknown event type → 400",
    )
    hook_id = str((hook or {}).get("id", 1))
    r.alias(
        f"/admin/webhooks/{hook_id}",
        "HOOK",
        'curl -s -H "Authorization: Token $TOKEN" '
        '"http://127.0.0.1:8000/admin/webhooks?tenant_id=TENANT_DOCS_001" '
        "| jq -r '.results[0].id'",
    )
    r.aliases[f"/admin/webhooks/{hook_id}"] = "/admin/webhooks/$HOOK"
    r.endpoint(
        "GET",
        "/admin/webhooks",
        "Subscriptions the caller manages. Filters: `tenant_id`, `active` (`true`|`false`), "
        "`page`, `page_size`.",
        "400 `invalid_filter`, 403 `admin_required`.",
    )
    r.call("GET", "/admin/webhooks")
    r.endpoint(
        "GET",
        "/admin/webhooks/{id}",
        "One subscription (never its secret).",
        "403 `admin_required`, 404 `webhook_not_found`.",
    )
    r.call("GET", f"/admin/webhooks/{hook_id}")
    r.endpoint(
        "PATCH",
        "/admin/webhooks/{id}",
        "Change `url`, `events` or `active`; an inactive subscription gets no new events and "
        "its pending deliveries are cancelled.",
        "400 as for create, 403, 404 `webhook_not_found`.",
    )
    r.call(
        "PATCH",
        f"/admin/webhooks/{hook_id}",
        {"events": ["config.activated", "config.rolled_back", "tenant.status_changed"]},
    )
    r.call(
        "PATCH",
        f"/admin/tenants/{t}/status",
        {"status": "SUSPENDED", "reason": "maintenance"},
        title="(a change the subscription listens to: one event, one delivery)",
    )
    r.call("PATCH", f"/admin/tenants/{t}/status", {"status": "ACTIVE"}, title="(and back)")
    r.endpoint(
        "GET",
        "/admin/webhooks/{id}/deliveries",
        "The subscription's deliveries, newest first, each with every attempt "
        "(`number`, `started_at`, `duration_ms`, `status_code`, `succeeded`, `error`, "
        "`response_excerpt` (2 KiB at most), `remote_ip`). Filter: `status` "
        "(`PENDING`|`DELIVERED`|`FAILED`|`CANCELLED`).",
        "400 `invalid_filter`, 403, 404 `webhook_not_found`.",
    )
    deliveries = r.call("GET", f"/admin/webhooks/{hook_id}/deliveries")
    r.endpoint(
        "POST",
        "/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "Send a delivered, failed or cancelled event again: a new delivery with its own "
        "attempts and the same `webhook-id`. 202 with the new delivery.",
        "403, 404 `webhook_not_found`, 404 `webhook_delivery_not_found`, "
        "409 `delivery_pending` (a delivery of that event to that webhook is still pending), "
        "409 `webhook_inactive`, 429 `rate_limited` (with `Retry-After`).",
    )
    rows = (deliveries or {}).get("results") or [{}]
    delivery_id = str(rows[0].get("id", 1))
    r.call(
        "POST",
        f"/admin/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver",
        {},
        title="While its first attempts are pending → 409",
    )
    r.endpoint(
        "POST",
        "/admin/webhooks/{id}/resume",
        "Resume a paused endpoint (its circuit breaker opened after failed attempts in a row): "
        "its waiting deliveries go out again at once.",
        "403, 404 `webhook_not_found`, 409 `webhook_not_paused`.",
    )
    r.call(
        "POST",
        f"/admin/webhooks/{hook_id}/resume",
        {},
        title="An endpoint that is not paused → 409",
    )
    r.endpoint(
        "DELETE",
        "/admin/webhooks/{id}",
        "Delete the subscription with its deliveries (the audit trail keeps the record).",
        "403, 404 `webhook_not_found`.",
    )
    r.call("DELETE", f"/admin/webhooks/{hook_id}")

    r.text(
        "## People and tokens",
        "Users and role bindings are governed data (DESIGN §15): every change is an audit row and "
        "a webhook event (`user.created`, `user.updated`, `user.deactivated`, `role.granted`, "
        "`role.revoked`, `token.created`, `token.revoked`). Usernames are one identity per look: "
        "compared by their TR39 confusable skeleton after NFKC and case folding.",
    )
    r.endpoint(
        "POST",
        "/admin/users",
        "Create a user `{username, email?, display_name?, service_account?}` (any ADMIN); it "
        "has no role until one is granted, and no usable password (a service account never "
        "logs in: tokens only).",
        "400 `invalid_username`, 403 `admin_required`, 409 `identity_exists` (e.g. "
        "`adm\u0131n` beside `admin`).",
    )
    r.call("POST", "/admin/users", {"username": "carol", "display_name": "Carol"})
    r.call("POST", "/admin/users", {"username": "ADMIN"}, title="A look-alike of admin → 409")
    r.endpoint(
        "GET",
        "/admin/users",
        "Users (platform ADMIN: all; a tenant ADMIN: the users bound to its tenants and those "
        "without any role yet); `?search=&is_active=`.",
        "403 `admin_required`.",
    )
    r.call("GET", "/admin/users?search=carol")
    r.endpoint(
        "POST",
        "/admin/users/{username}/roles",
        "Grant `{role: ADMIN|VIEWER, tenant_id?}` (no tenant: platform-wide). 201 the binding "
        "(200 when an existing binding changed role); 202 `{change_request}` (`kind: access`) "
        "when it grants ADMIN while four-eyes applies to that scope: another ADMIN approves it "
        "at `/admin/config-changes/{id}/approve`.",
        "400 `invalid_choice`, 403 `self_grant` (nobody changes their own roles), 403 "
        "`platform_admin_required` (a tenant ADMIN granting a platform role), 404 "
        "`tenant_not_found` (outside the ADMIN's tenants), 409 `last_admin`, 409 "
        "`user_inactive`.",
    )
    binding = r.call(
        "POST", "/admin/users/carol/roles", {"role": "VIEWER", "tenant_id": "TENANT_FINANCE_001"}
    )
    r.endpoint(
        "GET",
        "/admin/users/{username}",
        "One user with the roles the caller may see.",
        "403 `admin_required`, 404 `user_not_found`.",
    )
    r.call("GET", "/admin/users/carol")
    r.endpoint(
        "PATCH",
        "/admin/users/{username}",
        "`{display_name?, is_active?}`. `is_active: false` deactivates: sessions and tokens end "
        "at once (every process refuses them), and the user's PENDING or SCHEDULED change "
        "requests end STALE (`requester_gone`); `true` reactivates (platform ADMIN).",
        "403 `self_grant`, 403 `platform_admin_required`, 409 `last_admin`.",
    )
    r.call("PATCH", "/admin/users/carol", {"display_name": "Carol K."})
    r.endpoint(
        "DELETE",
        "/admin/users/{username}/roles/{binding_id}",
        "Revoke a binding, at once.",
        "403 `self_grant`, 404 `binding_not_found`, 409 `last_admin`.",
    )
    binding_id = (binding or {}).get("id", 0)
    r.call("DELETE", f"/admin/users/carol/roles/{binding_id}")
    r.endpoint(
        "POST",
        "/admin/tokens",
        "Create a token `{name, scope: read|write|runtime, tenant_ids?, expires_at?, username?}` "
        "(`username`: an ADMIN minting for a user it manages, e.g. a service account). The "
        "secret is in `token`, this once: only its SHA-256 is stored. `read` = safe methods "
        "only; `runtime` = `/runtime/...` of `tenant_ids` only; `write` = what the user's roles "
        "allow. `expires_at` defaults to `TOKEN_DEFAULT_DAYS` and may not pass "
        "`TOKEN_MAX_DAYS`. Send it as `Authorization: Token <secret>` or `Bearer <secret>`; an "
        "expired one → 401 `token_expired`, a use outside its scope → 403 `token_scope`.",
        "400 `invalid_scope`, 400 `invalid_tenant_ids`, 400 `invalid_expires_at`.",
    )
    created = r.call(
        "POST",
        "/admin/tokens",
        {"name": "settlement-runtime", "scope": "runtime", "tenant_ids": ["TENANT_FINANCE_001"]},
    )
    r.endpoint(
        "GET",
        "/admin/tokens",
        "Your tokens and those of the users you manage (never a secret); `?username=&active=`.",
    )
    r.call("GET", "/admin/tokens?active=true")
    r.endpoint(
        "DELETE",
        "/admin/tokens/{id}",
        "Revoke a token: every process refuses it from then on.",
        "404 `token_not_found`.",
    )
    r.call("DELETE", f"/admin/tokens/{(created or {}).get('id', 0)}")

    r.text("## Runtime")
    r.endpoint(
        "GET",
        "/runtime/tenants/{tenant_id}/config",
        "The tenant's effective configuration (domain pack merged with the tenant pack), with "
        "both versions and checksums, and an `ETag`; `If-None-Match` with that ETag → 304.",
        "404 `no_active_config`, 409 `tenant_suspended`.",
    )
    r.call("GET", "/runtime/tenants/TENANT_FINANCE_001/config")
    etag = r.last.get("ETag", '"x"')
    r.call(
        "GET",
        "/runtime/tenants/TENANT_FINANCE_001/config",
        headers={"If-None-Match": etag},
        title="Unchanged → 304",
    )
    r.endpoint(
        "POST",
        "/ops/exceptions/evaluate",
        "Evaluate one exception against the tenant's active configuration: severity (first "
        "matching domain rule, then the tenant override, default MEDIUM), the playbook and its "
        "steps, whether approval is required, the tools outside the approved ones, and what "
        "decided each. Optional `exception_id` (a string): while a rollout's canary runs on the "
        "tenant, it picks the arm (docs/rollouts.md), and the answer adds `arm` (`baseline` or "
        "`candidate`) and `rollout_id`.",
        "400 `unknown_exception_type`, 400 `invalid_number` (a number outside the 64-bit range "
        "in the payload), 400 `evaluation_too_costly` (a payload too large for the rules it "
        "meets), 404 no active config, 409 `tenant_suspended`.",
    )
    r.call(
        "POST",
        "/ops/exceptions/evaluate",
        {
            "tenant_id": "TENANT_FINANCE_001",
            "exception_type": "SETTLEMENT_FAIL",
            "payload": {"tradeId": "T-1001", "failReason": "SSI_MISMATCH"},
        },
        title="SETTLEMENT_FAIL (HIGH, no approval)",
        shorten=False,
    )
    r.call(
        "POST",
        "/ops/exceptions/evaluate",
        {
            "tenant_id": "TENANT_FINANCE_001",
            "exception_type": "POSITION_BREAK",
            "payload": {"account": "ACC-7", "breakAmount": 1250000},
        },
        title="POSITION_BREAK (CRITICAL, approval required)",
        shorten=False,
    )
    r.call(
        "POST",
        "/ops/exceptions/evaluate",
        {"tenant_id": "TENANT_FINANCE_001", "exception_type": "NOT_A_TYPE", "payload": {}},
        title="Unknown type → 400",
    )
    table = ["## Endpoints", "", "| endpoint | errors besides 401 |", "|---|---|"]
    for heading, errors in r.index:
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        cell = errors.replace("|", "\\|") or "—"
        label = heading.replace("|", "\\|")
        table.append(f"| [{label}](#{anchor}) | {cell} |")
    r.lines[index_at:index_at] = [*table, ""]
    return "\n".join(r.lines).rstrip() + "\n"


def _rollouts(r: Recorder, t: str, d: str) -> None:
    """Two rollouts of DocsDomain's two tenants to v1.1, a wave each: four-eyes applies to the
    docs tenant, so each rollout waits for another platform ADMIN's approval. The first is paused,
    resumed, advanced and aborted, the second halted by an alarm; both restore the docs tenant, so
    the sections after this one find it as the approvals left it."""
    r.text(
        "## Rollouts",
        "Fleet rollouts in waves (DESIGN §16); the whole story, statuses, guards and events are "
        "in [rollouts.md](rollouts.md).",
    )
    r.endpoint(
        "POST",
        "/admin/rollouts",
        "Body `{domain, domain_pack_version, tenants? | all_on_domain?, waves: [{tenants} | "
        "{percent}], bake_seconds, max_skipped?, auto_rollback?, guards?: {max_divergence_pct?, "
        "max_eval_errors?}, canary?: {percent, shadow?}, comment?, dry_run?}`. 201 the rollout "
        "with its waves; 202 `{change_request, rollout}` (kind `rollout`) when four-eyes "
        "applies; 200 the plan with `dry_run`.",
        "400 `unknown_domain`, `unknown_pack_version`, `tenant_not_on_domain`, `empty_waves`, "
        "`empty_wave`, `mixed_waves`, `overlapping_waves`, `tenants_not_in_wave`, "
        "`invalid_percent`, `percent_sum`, `invalid_bake_seconds`, `invalid_guard`, "
        "`invalid_canary`; 403, 404; 409 `tenant_in_rollout`, `pack_deprecated`.",
    )
    second = "TENANT_DOCS_002"
    r.call(
        "POST",
        "/admin/tenants",
        {"tenant_id": second, "name": "Docs Tenant 2"},
        title="(first, a second tenant on DocsDomain v1.0, with its own tenant pack)",
    )
    r.call(
        "POST",
        "/admin/packs/tenant/import",
        {
            "tenant_id": second,
            "content": {**DOCS_TENANT, "tenantId": second},
            "version": "v1.0",
            "domain_pack_version": "v1.0",
        },
        content_file="docs/examples/docs-tenant-2.json",
    )
    r.call(
        "POST",
        "/admin/packs/activate",
        {"tenant_id": second, "domain_pack_version": "v1.0", "tenant_pack_version": "v1.0"},
    )
    # Percent waves take the tenants by id: the docs tenant in the first, the second in the other.
    plan = {
        "domain": d,
        "domain_pack_version": "v1.1",
        "all_on_domain": True,
        "waves": [{"percent": 50}, {"percent": 50}],
        "bake_seconds": 3600,
        "comment": "the escalate tool",
    }
    r.call("POST", "/admin/rollouts", plan, title="v1.1 was deprecated above → 409")
    r.call(
        "PATCH",
        f"/admin/packs/domain/{d}/v1.1/status",
        {"status": "ACTIVE"},
        title="(make v1.1 ACTIVE again)",
    )
    r.call("POST", "/admin/rollouts", {**plan, "dry_run": True}, title="Dry run → 200, the plan")
    r.call(
        "POST",
        "/admin/rollouts",
        {**plan, "waves": [{"percent": 50}, {"percent": 40}]},
        title="Percentages that do not add up to 100 → 400",
    )
    rollout_id = _started_rollout(r, plan, "Four-eyes applies to the docs tenant → 202")
    r.call("POST", "/admin/rollouts", plan, title="Its tenants are in that rollout → 409")

    r.endpoint(
        "GET",
        "/admin/rollouts",
        "`?status=&domain=&page=&page_size=`: the rollouts the caller may see, newest first, "
        "with `counts` (tenants per status).",
        "400 `invalid_filter`.",
    )
    r.call("GET", f"/admin/rollouts?domain={d}", user="viewer")
    r.endpoint(
        "GET",
        "/admin/rollouts/{id}",
        "The rollout, its `readings` (guards), and per wave its status, `moved`, `skipped`, "
        "`duration_ms` and tenants (`status`, `revision_before`, `revision_after`, "
        "`restored_revision`, `skip_reason`).",
        "404 `rollout_not_found`.",
    )
    r.call("GET", f"/admin/rollouts/{rollout_id}", user="viewer", shorten=False)

    r.endpoint(
        "POST",
        "/admin/rollouts/{id}/pause",
        "RUNNING or BAKING → PAUSED.",
        "403 `admin_required`, 404, 409 `invalid_transition`, `rollout_finished`.",
    )
    r.call("POST", f"/admin/rollouts/{rollout_id}/pause", {}, title="BAKING → PAUSED")
    r.call("POST", f"/admin/rollouts/{rollout_id}/pause", {}, title="Again → 409")
    r.endpoint(
        "POST",
        "/admin/rollouts/{id}/resume",
        "PAUSED → BAKING (or RUNNING when the bake is over).",
        "as pause.",
    )
    r.call("POST", f"/admin/rollouts/{rollout_id}/resume", {})
    r.endpoint("POST", "/admin/rollouts/{id}/advance", "The next wave is due now.", "as pause.")
    r.call("POST", f"/admin/rollouts/{rollout_id}/advance", {})
    r.endpoint(
        "POST",
        "/admin/rollouts/{id}/abort",
        "`{reason?}`: ROLLED_BACK (moved tenants restored) or, with `auto_rollback: false`, "
        "CANCELLED.",
        "as pause; 409 `rollout_pending_approval`.",
    )
    r.call(
        "POST",
        f"/admin/rollouts/{rollout_id}/abort",
        {"reason": "wrong wave plan"},
        title="Before the worker applies the second wave: the docs tenant is restored",
    )

    r.endpoint(
        "POST",
        "/admin/rollouts/{id}/alarm",
        "`{reason}` (a monitor): HALTED, then ROLLED_BACK with `auto_rollback`; 409 "
        "`rollout_finished` on a finished rollout.",
        "400 `missing_required` (reason); as pause.",
    )
    rollout_id = _started_rollout(r, plan, "(a second rollout, approved the same way)")
    r.call(
        "POST",
        f"/admin/rollouts/{rollout_id}/alarm",
        {"reason": "error rate above 2%"},
        title="Halted and rolled back",
    )
    r.call(
        "POST",
        f"/admin/rollouts/{rollout_id}/alarm",
        {"reason": "still failing"},
        title="On a finished rollout → 409",
    )
    r.call("POST", f"/admin/rollouts/{rollout_id}/alarm", {}, title="Without a reason → 400")


def _started_rollout(r: Recorder, plan: dict[str, Any], title: str) -> str:
    """Create the rollout (202: it awaits approval), have admin2 approve its change request and
    let the worker apply its first wave (the tenant moves; BAKING)."""
    from onboarding.worker import drain

    pending = r.call("POST", "/admin/rollouts", plan, title=title) or {}
    rollout = pending.get("rollout", {})
    rollout_id = rollout.get("id", "00000000-0000-0000-0000-000000000000")
    r.alias(
        rollout_id,
        "ROLLOUT",
        'curl -s -H "Authorization: Token $TOKEN" '
        '"http://127.0.0.1:8000/admin/rollouts?status=PENDING_APPROVAL" '
        "| jq -r '.results[0].id'",
    )
    cr = pending.get("change_request", {}).get("id", "00000000-0000-0000-0000-000000000000")
    r.alias(
        cr,
        "CR",
        'curl -s -H "Authorization: Token $TOKEN" '
        '"http://127.0.0.1:8000/admin/rollouts/$ROLLOUT" | jq -r .change_request_id',
    )
    r.call(
        "POST",
        f"/admin/config-changes/{cr}/approve",
        {"comment": "go"},
        user="admin2",
        title="Another platform ADMIN approves its change request: the rollout starts",
    )
    drain(queues=("rollouts",))  # the worker applies the first wave
    return rollout_id


def main(argv: list[str]) -> int:
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else OUT
    try:
        out.write_text(build(), encoding="utf-8")
    finally:
        if SCRATCH:
            Path(SCRATCH[0]).unlink(missing_ok=True)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
