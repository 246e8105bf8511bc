from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from tenants.models import Role, RoleBinding, Tenant


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
        with transaction.atomic():
            tenant_obj = None
            if tenant:
                tenant_obj = Tenant.objects.filter(tenant_id=tenant).first()
                if tenant_obj is None:
                    raise CommandError(f"unknown tenant {tenant!r}")
            user, _ = get_user_model().objects.get_or_create(username=username)
            RoleBinding.objects.update_or_create(
                user=user, tenant=tenant_obj, defaults={"role": role}
            )
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
