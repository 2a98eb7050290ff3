from django.urls import path

from dikom.analytics.dashboards import views

app_name = "analytics_dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.overview, name="overview"),
    path("<slug:slug>/dienste/<uuid:service_uuid>/", views.service_detail, name="service_detail"),
    path("<slug:slug>/dienste/<uuid:service_uuid>/kommentare/", views.comments, name="comments"),
    path("<slug:slug>/dashboards/", views.dashboard_list, name="dashboard_list"),
    path("<slug:slug>/dashboards/<uuid:dashboard_uuid>/", views.dashboard_detail, name="dashboard_detail"),
    path("<slug:slug>/dashboards/<uuid:dashboard_uuid>/bearbeiten/", views.dashboard_edit, name="dashboard_edit"),
    path(
        "<slug:slug>/dashboards/<uuid:dashboard_uuid>/kopieren/", views.dashboard_duplicate, name="dashboard_duplicate"
    ),
    path("<slug:slug>/dashboards/<uuid:dashboard_uuid>/loeschen/", views.dashboard_delete, name="dashboard_delete"),
    path(
        "<slug:slug>/dashboards/<uuid:dashboard_uuid>/widgets/<int:widget_id>/",
        views.widget_edit,
        name="widget_edit",
    ),
    path(
        "<slug:slug>/dashboards/<uuid:dashboard_uuid>/widgets/<int:widget_id>/aktion/",
        views.widget_action,
        name="widget_action",
    ),
]
