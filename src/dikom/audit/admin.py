from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dikom.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ("occurred_at", "actor", "municipality", "action", "object_repr", "source")
    list_filter = ("source", "municipality")
    search_fields = ("action", "actor_label", "object_repr")
    date_hierarchy = "occurred_at"
    list_select_related = ("municipality",)

    @admin.display(description=_("actor"), ordering="actor_label")
    def actor(self, obj: AuditEvent) -> str:
        # Events without a person are stored as "system"; the list shows that word translated.
        return gettext("system") if obj.actor_label == "system" else obj.actor_label

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
