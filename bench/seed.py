"""`python -m bench.seed TENANT...`: seed a migrated database for fuzz and soak runs.

For each tenant: the tenant, and (when the import services exist) the reference domain pack and
a tenant pack for it, activated when activation exists. Then tokens: a platform ADMIN, a second
platform ADMIN (four-eyes approvals), a platform VIEWER. Prints one JSON object on stdout:
{"tokens": {...}, "tenants": [...], "domain": ..., "steps": [...]}. Runs through the services
so the audit trail and invariants hold from the first row.
"""

import copy
import json
import os
import sys


def _tenant_pack(tenant_id: str) -> dict:
    from bench.common import reference_pack

    pack = copy.deepcopy(reference_pack("tenant_finance_001.json"))
    pack["tenantId"] = tenant_id
    return pack


def seed(tenant_ids: list[str]) -> dict:
    from django.contrib.auth import get_user_model

    from bench.common import reference_pack
    from identity.services import token_mint
    from packs import services as pack_services
    from tenants.models import RoleBinding, Tenant
    from tenants.principals import Principal
    from tenants.services import tenant_create

    principal = Principal.system("seed")
    steps: list[str] = []
    for tenant_id in tenant_ids:
        if not Tenant.objects.filter(tenant_id=tenant_id).exists():
            tenant_create(principal=principal, tenant_id=tenant_id, name=f"Seeded {tenant_id}")
    domain_content = reference_pack("domain_capital_markets.json")
    domain = domain_content["domainName"]
    if hasattr(pack_services, "domain_pack_import"):
        result = pack_services.domain_pack_import(
            principal=principal, content=domain_content, version="1.0.0"
        )
        steps.append(f"domain pack {result.pack.domain} {result.pack.version}")
        versions = {}
        for tenant_id in tenant_ids:
            imported = pack_services.tenant_pack_import(
                principal=principal, tenant_id=tenant_id, content=_tenant_pack(tenant_id)
            )
            versions[tenant_id] = imported.pack.version
            steps.append(f"tenant pack {tenant_id} {imported.pack.version}")
        try:
            from governance.services import config_activate
        except ImportError:
            config_activate = None
        if config_activate:
            for tenant_id in tenant_ids:
                config_activate(
                    principal=principal,
                    tenant_id=tenant_id,
                    domain=domain,
                    domain_pack_version=result.pack.version,
                    tenant_pack_version=versions[tenant_id],
                )
                steps.append(f"activated {tenant_id}")
    tokens = {}
    users = (("fuzz-admin", "ADMIN"), ("fuzz-admin-2", "ADMIN"), ("fuzz-viewer", "VIEWER"))
    for username, role in users:
        user, _ = get_user_model().objects.get_or_create(username=username)
        RoleBinding.objects.update_or_create(user=user, tenant=None, defaults={"role": role})
        tokens[username] = token_mint(user=user, name="bench", created_by="bench")[1]
    return {"tokens": tokens, "tenants": tenant_ids, "domain": domain, "steps": steps}


def main() -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    django.setup()
    print(json.dumps(seed(sys.argv[1:] or ["TENANT_FUZZ"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
