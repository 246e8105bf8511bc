from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from identity import signals
from identity.commands import command_via
from identity.models import ApiToken, TokenScope
from identity.services import token_mint, token_snapshot
from identity.services.common import binding_snapshot, emit
from onboarding.errors import ServiceError
from onboarding.principal import Principal
from tenants.models import Role, RoleBinding, Tenant
from tenants.services import user_ensure


class Command(BaseCommand):
    help = (
        "Create or update USERNAME with a role binding, create a new named API token for it "
        "(only its hash is stored) and print only the secret, once. Without --tenant the role is "
        "platform-wide. Exit 1 on an unknown tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--tenant", help="bind the role to this tenant id only")
        parser.add_argument("--name", default="issue_token", help="the token's name")
        parser.add_argument("--scope", default=TokenScope.WRITE, choices=TokenScope.values)

    def handle(self, *args, username: str, role: str, tenant: str | None, **options):
        try:
            secret = self._issue(username, role, tenant, options["name"], options["scope"])
        except ServiceError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(secret)

    def _issue(self, username: str, role: str, tenant: str | None, name: str, scope: str) -> str:
        with transaction.atomic():
            tenant_obj = None
            if tenant:
                tenant_obj = Tenant.objects.filter(tenant_id=tenant).first()
                if tenant_obj is None:
                    raise CommandError(f"unknown tenant {tenant!r}")
            user, _ = user_ensure(username=username)
            binding, created = RoleBinding.objects.get_or_create(
                user=user, tenant=tenant_obj, defaults={"role": role}
            )
            if created or binding.role != role:
                binding.role = role
                binding.save(update_fields=["role"])
                # The bootstrap path bypasses the services' four-eyes, never the trail.
                emit(
                    signals.role_granted,
                    RoleBinding,
                    principal=Principal.system("issue_token"),
                    action="role.granted",
                    summary=f"{role} on {tenant or 'the platform'} granted to {username} "
                    "by issue_token",
                    object_type="role_binding",
                    object_id=str(binding.pk),
                    tenant_id=tenant,
                    details={"binding": binding_snapshot(binding)},
                    via=command_via("issue_token"),
                )
            token, secret = token_mint(
                user=user,
                name=name,
                scope=scope,
                tenant_ids=[tenant] if scope == TokenScope.RUNTIME and tenant else None,
                created_by="issue_token",
            )
            emit(
                signals.token_created,
                ApiToken,
                principal=Principal.system("issue_token"),
                action="token.created",
                summary=f"Token {name!r} ({scope}) created for {username} by issue_token",
                object_type="api_token",
                object_id=str(token.pk),
                details={"token": token_snapshot(token), "role": role, "tenant_id": tenant},
                via=command_via("issue_token"),
            )
            return secret
