"""Pages of the service library under /dienste/ (the library itself is public)."""

from django.urls import path, register_converter

from dikom.eservices import decision_views, views

app_name = "eservices"


class LocatorConverter:
    """A field inside a step: its index, and indexes inside repeating groups (``2`` or ``2-0``)."""

    regex = r"\d{1,3}(?:-\d{1,3}){0,4}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(LocatorConverter, "locator")

version = "<slug:slug>/v<int:number>/"
designer = version + "bearbeiten/"

urlpatterns = [
    path("", views.library, name="library"),
    path("meine/", views.mine, name="mine"),
    path("neu/", views.create, name="create"),
    path("importieren/", views.import_service, name="import"),
    path("benachrichtigungen/", views.notifications, name="notifications"),
    path("benachrichtigungen/<int:notification_id>/gelesen/", views.notification_read, name="notification_read"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/neue-version/", views.new_version, name="new_version"),
    path("<slug:slug>/uebernahme/<slug:city>/", views.adoption, name="adoption"),
    path("<slug:slug>/uebernahme/<slug:city>/aktualisieren/", views.adoption_upgrade, name="adoption_upgrade"),
    path(version, views.version_detail, name="version"),
    path(version + "export.zip", views.export_version, name="export"),
    path(version + "kommentar/", views.review_comment, name="comment"),
    path(version + "kommentar/<int:comment_id>/erledigt/", views.comment_resolve, name="comment_resolve"),
    path(version + "entscheidung/", views.review_decide, name="decide"),
    path(version + "zurueckziehen/", views.withdraw, name="withdraw"),
    path(designer, views.edit, name="edit"),
    path(designer + "identitaet/", views.edit_identity, name="edit_identity"),
    path(designer + "einreichen/", views.submit, name="submit"),
    path(designer + "schritte/neu/", views.step_add, name="step_add"),
    path(designer + "schritte/<int:step>/", views.edit_step, name="edit_step"),
    path(designer + "schritte/<int:step>/verschieben/", views.step_move, name="step_move"),
    path(designer + "schritte/<int:step>/loeschen/", views.step_delete, name="step_delete"),
    path(designer + "schritte/<int:step>/vorschau/", views.preview, name="preview"),
    path(designer + "schritte/<int:step>/felder/neu/", views.field_add, name="field_add"),
    path(designer + "schritte/<int:step>/felder/<locator:locator>/", views.edit_field, name="edit_field"),
    path(designer + "schritte/<int:step>/felder/<locator:locator>/verschieben/", views.field_move, name="field_move"),
    path(designer + "schritte/<int:step>/felder/<locator:locator>/loeschen/", views.field_delete, name="field_delete"),
    path(designer + "gebuehren/", views.edit_fees, name="edit_fees"),
    path(designer + "gebuehren/<int:index>/", views.edit_fee, name="edit_fee"),
    path(designer + "gebuehren/<int:index>/loeschen/", views.fee_delete, name="fee_delete"),
    path(designer + "prozess/", views.edit_process, name="edit_process"),
    path(designer + "prozess/hochladen/", views.process_upload, name="process_upload"),
    path(designer + "prozess/entfernen/", views.process_delete, name="process_delete"),
    path(designer + "entscheidungen/hochladen/", decision_views.decision_upload, name="decision_upload"),
    path(designer + "entscheidungen/<slug:key>/entfernen/", decision_views.decision_delete, name="decision_delete"),
    path(version + "entscheidungen/<slug:key>/", decision_views.decision_table, name="decision_table"),
    path(designer + "einstellungen/", views.edit_settings, name="edit_settings"),
    path(designer + "einstellungen/dokumente/", views.document_add, name="document_add"),
    path(designer + "einstellungen/dokumente/<int:index>/loeschen/", views.document_delete, name="document_delete"),
]
