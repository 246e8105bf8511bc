from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by the audit receivers only."""

    list_display = ("id", "occurred_at", "action", "actor", "tenant_id", "object_type", "version")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "tenant_id", "object_id", "summary", "request_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
