from django.urls import path

from dikom.handover import views

app_name = "handover"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.deliveries, name="deliveries"),
    path("<slug:slug>/zustellungen/<uuid:delivery_uuid>/erneut/", views.delivery_retry, name="delivery_retry"),
    path("<slug:slug>/ziele/", views.targets, name="targets"),
    path("<slug:slug>/ziele/neu/", views.target_create, name="target_create"),
    path("<slug:slug>/ziele/<uuid:target_uuid>/", views.target_edit, name="target_edit"),
    path("<slug:slug>/ziele/<uuid:target_uuid>/aktiv/", views.target_active, name="target_active"),
    path(
        "<slug:slug>/ziele/<uuid:target_uuid>/neues-geheimnis/",
        views.target_rotate_secret,
        name="target_rotate_secret",
    ),
]
