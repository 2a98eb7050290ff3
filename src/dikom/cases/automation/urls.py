from django.urls import path

from dikom.cases.automation import views

app_name = "cases_automation"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.rule_list, name="rules"),
    path("<slug:slug>/neu/", views.rule_create, name="rule_create"),
    path("<slug:slug>/protokoll/", views.execution_log, name="log"),
    path("<slug:slug>/regeln/<uuid:rule_uuid>/", views.rule_edit, name="rule_edit"),
    path("<slug:slug>/regeln/<uuid:rule_uuid>/aktiv/", views.rule_active, name="rule_active"),
    path("<slug:slug>/regeln/<uuid:rule_uuid>/probelauf/", views.rule_dry_run, name="rule_dry_run"),
    path("<slug:slug>/regeln/<uuid:rule_uuid>/neues-geheimnis/", views.rule_rotate_secret, name="rule_rotate_secret"),
]
