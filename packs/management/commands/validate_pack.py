import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from onboarding.errors import ServiceError
from onboarding.intake import load_json_object
from onboarding.principal import Principal
from packs.selectors import domain_pack_resolve
from packs.validation import PackValidationService, validate_domain_pack, validate_tenant_pack

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


class Command(BaseCommand):
    help = (
        "Validate a pack file and print the validation report as JSON. The type is detected when "
        "--type is omitted (a tenantId key means a tenant pack). A tenant pack is checked against "
        "the named domain pack version, else the tenant's active one, else the newest "
        "non-deprecated one in the database. Exit status: 0 valid, 1 invalid, 2 unreadable or "
        "not JSON (the problem is printed as JSON)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The pack file.")
        parser.add_argument("--type", choices=["domain", "tenant"], dest="pack_type")
        parser.add_argument("--tenant", help="Tenant whose active domain pack to check against.")
        parser.add_argument("--domain-version", help="Domain pack version to check against.")

    def handle(self, *args, path, pack_type=None, tenant=None, domain_version=None, **options):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            self._problem(
                {"code": "unreadable", "detail": f"Cannot read {path}: {exc.strerror or exc}."}
            )
        try:
            content = load_json_object(data)
            pack_type = pack_type or PackValidationService.detect_type(content)
            if pack_type == "domain":
                report = validate_domain_pack(content)
            else:
                report = self._validate_tenant(content, tenant, domain_version)
        except ServiceError as exc:
            self._problem(exc.as_problem())
        self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        sys.exit(EXIT_VALID if report["valid"] else EXIT_INVALID)

    def _validate_tenant(self, content, tenant, domain_version):
        domain = content.get("domainName")
        tenant_id = tenant or content.get("tenantId")
        pack = None
        if isinstance(domain, str) and domain:
            try:
                pack = domain_pack_resolve(
                    principal=Principal.system("validate_pack"),
                    domain=domain,
                    version=domain_version,
                    tenant_id=tenant_id if isinstance(tenant_id, str) else None,
                )
            except DatabaseError as exc:  # no database yet: the file alone can still be checked
                self.stderr.write(f"No domain pack to check against (database: {exc}).")
        if pack is None:
            return validate_tenant_pack(content)
        return validate_tenant_pack(
            content,
            domain_pack_content=pack.content_json,
            checked_against={"domain": pack.domain, "version": pack.version},
        )

    def _problem(self, problem):
        self.stdout.write(json.dumps(problem, indent=2, ensure_ascii=False))
        sys.exit(EXIT_UNREADABLE)
