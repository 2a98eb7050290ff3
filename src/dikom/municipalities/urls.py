from django.urls import path

from dikom.municipalities import views

app_name = "municipalities"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.overview, name="overview"),
    path("<slug:slug>/behoerde/", views.authority, name="authority"),
    path("<slug:slug>/organisation/", views.org_units, name="org_units"),
    path("<slug:slug>/organisation/<int:unit_id>/bearbeiten/", views.org_unit_edit, name="org_unit_edit"),
    path("<slug:slug>/organisation/<int:unit_id>/loeschen/", views.org_unit_delete, name="org_unit_delete"),
    path("<slug:slug>/personal/", views.staff, name="staff"),
    path(
        "<slug:slug>/personal/rollen/<int:membership_id>/entziehen/",
        views.membership_revoke,
        name="membership_revoke",
    ),
    path("<slug:slug>/api-schluessel/", views.api_keys, name="api_keys"),
    path("<slug:slug>/api-schluessel/neu/", views.api_key_create, name="api_key_create"),
    path("<slug:slug>/api-schluessel/<uuid:key_uuid>/widerrufen/", views.api_key_revoke, name="api_key_revoke"),
    path("<slug:slug>/protokoll/", views.audit_log, name="audit_log"),
]
