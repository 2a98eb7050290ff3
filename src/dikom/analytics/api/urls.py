from django.urls import path

from dikom.analytics.api import views

urlpatterns = [
    path("events", views.EventIngestView.as_view(), name="analytics-events"),
    path("services/", views.ServiceListView.as_view(), name="analytics-service-list"),
    path("unassigned/", views.UnassignedListView.as_view(), name="analytics-unassigned-list"),
    path("unassigned/assign", views.AssignView.as_view(), name="analytics-unassigned-assign"),
    path("summary", views.SummaryView.as_view(), name="analytics-summary"),
]
