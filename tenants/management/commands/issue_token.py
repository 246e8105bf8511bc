from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from onboarding.errors import ServiceError
from tenants.models import Role, RoleBinding, Tenant
from tenants.services import user_ensure


class Command(BaseCommand):
    help = (
        "Create or update USERNAME with a role binding and print only its API token. "
        "Without --tenant the role is platform-wide. Exit 1 on an unknown tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--tenant", help="bind the role to this tenant id only")

    def handle(self, *args, username: str, role: str, tenant: str | None, **options):
        try:
            token = self._issue(username, role, tenant)
        except ServiceError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(token)

    def _issue(self, username: str, role: str, tenant: str | None) -> str:
        with transaction.atomic():
            tenant_obj = None
            if tenant:
                tenant_obj = Tenant.objects.filter(tenant_id=tenant).first()
                if tenant_obj is None:
                    raise CommandError(f"unknown tenant {tenant!r}")
            user, _ = user_ensure(username=username)
            RoleBinding.objects.update_or_create(
                user=user, tenant=tenant_obj, defaults={"role": role}
            )
            return Token.objects.get_or_create(user=user)[0].key
