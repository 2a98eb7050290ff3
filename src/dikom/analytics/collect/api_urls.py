"""Routed at ``/api/v1/analytics/``: the JavaScript collector."""

from django.urls import URLPattern, URLResolver, include, path

from dikom.analytics.collect.api import views

collect_patterns: list[URLPattern] = [
    path("collect/<slug:site_id>", views.CollectView.as_view(), name="collect"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include((collect_patterns, "analytics_collect_api"))),
]
