from django.urls import path

from dikom.analytics.dashboards.api import views

urlpatterns = [
    path("overview", views.OverviewView.as_view(), name="analytics-overview"),
    path("timeseries", views.TimeseriesView.as_view(), name="analytics-timeseries"),
]
