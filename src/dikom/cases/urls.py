from django.urls import URLPattern, URLResolver, path

from dikom.cases import views
from dikom.cases.webhooks import views as webhook_views

app_name = "cases"

CASE = "<slug:slug>/<uuid:case_uuid>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.inbox, name="inbox"),
    path("<slug:slug>/sammelbearbeitung/", views.bulk, name="bulk"),
    path("<slug:slug>/webhooks/", webhook_views.webhooks, name="webhooks"),
    path(
        "<slug:slug>/webhooks/<uuid:subscription_uuid>/aktiv/", webhook_views.subscription_active, name="webhook_active"
    ),
    path(
        "<slug:slug>/webhooks/zustellungen/<uuid:delivery_uuid>/erneut/",
        webhook_views.delivery_retry,
        name="webhook_retry",
    ),
    path(CASE, views.case_detail, name="case"),
    path(CASE + "aufgaben/<uuid:task_uuid>/<slug:op>/", views.task_action, name="task_action"),
    path(CASE + "notiz/", views.add_note, name="add_note"),
    path(CASE + "nachforderung/", views.request_information, name="request_information"),
    path(CASE + "beteiligung/", views.consult, name="consult"),
    path(CASE + "medienbruch/", views.media_break, name="media_break"),
    path(CASE + "entscheidung/", views.decide, name="decide"),
    path(CASE + "abschluss/", views.close, name="close"),
    path(CASE + "e-akte/", views.retry_efile, name="retry_efile"),
    path(CASE + "dokumente/<uuid:document_uuid>/", views.document, name="document"),
]
