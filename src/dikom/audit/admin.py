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

    def get_fields(self, request, obj=None):
        # The detail page, too, shows the translated actor in place of the stored label.
        return ["actor" if name == "actor_label" else name for name in super().get_fields(request, obj)]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "actor"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
