"""The demo state of the specification, idempotent: running it twice gives the same state."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from governance.services import config_activate
from identity.models import ApiToken
from identity.services import token_mint
from impact.models import TenantSampleSet
from impact.services import sample_set_replace
from onboarding.principal import Principal
from packs.models import PlaybookLink
from packs.services import domain_pack_import, playbook_link_create, tenant_pack_import
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest
from runtime_config.services import KIND_ACTIVATE
from tenants.models import Role, RoleBinding, Tenant
from tenants.services import tenant_create, user_ensure

DEMO_DIR = Path(__file__).resolve().parents[3] / "packs" / "demo"
TENANT_ID = "TENANT_FINANCE_001"
DOMAIN_VERSION = "v3.2"
TENANT_VERSION = "v1.4"
PLAYBOOK = "SETTLEMENT_FAIL"
SAMPLES = "samples_finance.jsonl"
USERS = (
    ("admin", "admin-demo-password", Role.ADMIN),
    ("admin2", "admin2-demo-password", Role.ADMIN),
    ("viewer", "viewer-demo-password", Role.VIEWER),
)


def _load(name: str) -> dict:
    return json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


class Command(BaseCommand):
    help = (
        f"Seed the demo: users admin, admin2 (platform ADMINs) and viewer (platform VIEWER); "
        f"tenant {TENANT_ID}; domain pack CapitalMarketsTrading {DOMAIN_VERSION} and tenant pack "
        f"{TENANT_VERSION} imported and activated; the {PLAYBOOK} playbook linked; a sample set "
        "of the tenant's exceptions. Idempotent. Prints the logins and API tokens."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server listens, for the printed login URL and curl example "
            "(`make run` passes http://$(HOST):$(PORT)).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            # It creates platform ADMINs with known passwords: never on a production database.
            raise CommandError("seed_demo runs only with DEBUG=true (it creates known passwords).")
        tokens = self._users()
        self._flow(Principal.system("seed_demo"))
        self._print(tokens, options["base_url"].rstrip("/"))

    def _users(self) -> dict[str, str]:
        tokens = {}
        with transaction.atomic():
            for username, password, role in USERS:
                user, created = user_ensure(username=username)
                if created or not user.has_usable_password():
                    user.set_password(password)
                    user.save(update_fields=["password"])
                RoleBinding.objects.update_or_create(
                    user=user, tenant=None, defaults={"role": role}
                )
                # A secret is shown once: each run replaces the demo token with a new one.
                ApiToken.objects.filter(user=user, name="demo").delete()
                tokens[username] = token_mint(user=user, name="demo", created_by="seed_demo")[1]
        return tokens

    def _flow(self, principal: Principal) -> None:
        if not Tenant.objects.filter(tenant_id=TENANT_ID).exists():
            tenant_create(principal=principal, tenant_id=TENANT_ID, name="Finance Demo Tenant")
        domain = domain_pack_import(
            principal=principal,
            content=_load("domain_capital_markets.json"),
            version=DOMAIN_VERSION,
        )
        tenant = tenant_pack_import(
            principal=principal,
            tenant_id=TENANT_ID,
            content=_load("tenant_finance_001.json"),
            version=TENANT_VERSION,
            domain_pack_version=DOMAIN_VERSION,
        )
        self._samples(principal)
        waiting = self._waiting_request(domain.pack, tenant.pack)
        if waiting is None:
            outcome = config_activate(
                principal=principal,
                tenant_id=TENANT_ID,
                domain=domain.pack.domain,
                domain_pack_version=DOMAIN_VERSION,
                tenant_pack_version=tenant.pack.version,
                comment="seed_demo",
            )
            self.stdout.write(f"activation: {outcome.status}")
            waiting = outcome.change_request if outcome.status == "pending" else None
        if waiting is not None:
            # Four-eyes applies (the global setting or the tenant's policy): the seed does not
            # approve its own request. It waits for admin or admin2, like any other.
            self.stdout.write(
                f"activation: awaiting approval (change request {waiting.pk}); approve it as "
                "admin or admin2 at /admin/config-changes, then run seed_demo again to link "
                f"the {PLAYBOOK} playbook."
            )
            return
        if not PlaybookLink.objects.filter(tenant_id=TENANT_ID, playbook_id=PLAYBOOK).exists():
            playbook_link_create(principal=principal, tenant_id=TENANT_ID, playbook_id=PLAYBOOK)

    def _samples(self, principal: Principal) -> None:
        """Real-looking exceptions of the tenant, so that a dry run or a review shows what a change
        does to them (decision impact). Kept when the tenant already has a set of its own."""
        if not TenantSampleSet.objects.filter(tenant_id=TENANT_ID).exists():
            sample_set_replace(
                principal=principal,
                tenant_id=TENANT_ID,
                data=(DEMO_DIR / SAMPLES).read_bytes(),
            )

    def _waiting_request(self, domain_pack, tenant_pack):
        """The seed's activation already waiting for approval: running again must not file
        another (which would supersede it)."""
        return (
            ConfigChangeRequest.objects.filter(
                tenant_id=TENANT_ID,
                kind=KIND_ACTIVATE,
                status=ChangeRequestStatus.PENDING,
                domain_pack=domain_pack,
                tenant_pack=tenant_pack,
            )
            .order_by("-requested_at")
            .first()
        )

    def _print(self, tokens: dict[str, str], base_url: str) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo ready. Log in at {base_url}/login with:")
        for username, password, role in USERS:
            self.stdout.write(
                f"  {username:<7} / {password:<22} ({role}, platform-wide)  API token: "
                f"{tokens[username]}"
            )
        self.stdout.write("Try the API:")
        self.stdout.write(
            f'  curl -H "Authorization: Token {tokens["admin"]}" '
            f"{base_url}/runtime/tenants/{TENANT_ID}/config"
        )
