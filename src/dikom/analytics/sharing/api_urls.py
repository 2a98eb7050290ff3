from django.urls import URLPattern, path

from dikom.analytics.sharing import api_views

urlpatterns: list[URLPattern] = [
    path("comparison", api_views.ComparisonView.as_view(), name="analytics-comparison"),
]
