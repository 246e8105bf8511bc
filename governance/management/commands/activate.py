"""`python manage.py activate`: the activation service and its approval policy, from a shell."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from governance import services
from governance.api import change_request_data
from identity.commands import acting_from, command_actor
from onboarding.errors import ServiceError
from onboarding.rfc3339 import json_default
from runtime_config.api import active_config_data

EXIT_PENDING = 3


class Command(BaseCommand):
    help = (
        "Activate a domain/tenant pack pair for a tenant. Prints the result as JSON; exit 0 when "
        "applied, unchanged or previewed, 3 when a change request awaits approval, 1 on errors."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant id")
        parser.add_argument("--domain", help="domain (default: the tenant pack's or current)")
        parser.add_argument("--domain-version", dest="domain_pack_version")
        parser.add_argument("--tenant-version", dest="tenant_pack_version")
        parser.add_argument("--expected-revision", dest="expected_revision", type=int)
        parser.add_argument("--dry-run", action="store_true", help="preview, write nothing")
        parser.add_argument(
            "--actor",
            required=True,
            help="the username of the person running this: an active user with ADMIN on the "
            "tenant (any role on it for --dry-run)",
        )
        parser.add_argument("--comment", default="")

    def handle(self, *args, **options):
        principal = command_actor(
            options["actor"], tenant_id=options["tenant"], write=not options["dry_run"]
        )
        try:
            with acting_from("activate"):
                outcome = self._activate(principal, options)
        except ServiceError as exc:
            self.stderr.write(json.dumps(exc.as_problem(), indent=2, ensure_ascii=False))
            raise CommandError(exc.detail, returncode=1) from None
        if outcome.status == "preview":
            result = outcome.preview
        elif outcome.status == "pending":
            result = {"change_request": change_request_data(outcome.change_request)}
        else:
            result = active_config_data(outcome.config, changed=outcome.changed)
        self.stdout.write(json.dumps(result, indent=2, default=json_default, ensure_ascii=False))
        if outcome.status == "pending":
            sys.exit(EXIT_PENDING)

    def _activate(self, principal, options):
        return services.config_activate(
            principal=principal,
            tenant_id=options["tenant"],
            domain=options["domain"],
            domain_pack_version=options["domain_pack_version"],
            tenant_pack_version=options["tenant_pack_version"],
            expected_revision=options["expected_revision"],
            comment=options["comment"],
            dry_run=options["dry_run"],
        )
