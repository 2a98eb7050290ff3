from django.urls import path

from dikom.eservices.api import views

urlpatterns = [
    path("services/", views.ServiceListView.as_view(), name="eservices-service-list"),
    path(
        "services/<slug:slug>/versions/<int:number>/",
        views.VersionDetailView.as_view(),
        name="eservices-version-detail",
    ),
    path("adoptions/", views.AdoptionListView.as_view(), name="eservices-adoption-list"),
]
