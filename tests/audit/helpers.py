"""Reading the audit trail in tests."""

from io import StringIO

from django.core.management import call_command

from audit.models import AuditEvent


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()
