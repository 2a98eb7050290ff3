from django.urls import URLPattern, path

from dikom.analytics.figures import views

app_name = "analytics_figures"

urlpatterns: list[URLPattern] = [
    path("<slug:slug>/", views.index, name="index"),
    path("<slug:slug>/uploads/<uuid:upload_uuid>/", views.upload_detail, name="upload"),
    path("<slug:slug>/uploads/<uuid:upload_uuid>/anwenden", views.upload_apply, name="upload_apply"),
    path("<slug:slug>/uploads/<uuid:upload_uuid>/verwerfen", views.upload_discard, name="upload_discard"),
    path("<slug:slug>/kennzahlen/", views.figure_list, name="figures"),
]
