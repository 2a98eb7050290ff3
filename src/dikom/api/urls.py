from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from dikom.api import views
from dikom.api.docs import ApiDocsView
from dikom.api.problems import api_not_found

app_name = "api"

urlpatterns = [
    path("municipalities/", views.MunicipalityListView.as_view(), name="municipality-list"),
    path("municipalities/<str:ags>/", views.MunicipalityDetailView.as_view(), name="municipality-detail"),
    path("municipalities/<str:ags>/org-units/", views.OrgUnitListView.as_view(), name="org-unit-list"),
    path("audit-events/", views.AuditEventListView.as_view(), name="audit-event-list"),
    path("me/", views.MeView.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    # Last: anything else under /api/v1/ is a 404 problem, never the HTML error page.
    re_path(r"^.*$", api_not_found, name="not-found"),
]
