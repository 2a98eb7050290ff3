from django.contrib import admin

from dikom.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ("occurred_at", "actor_label", "municipality", "action", "object_repr", "source")
    list_filter = ("source", "municipality")
    search_fields = ("action", "actor_label", "object_repr")
    date_hierarchy = "occurred_at"
    list_select_related = ("municipality",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
