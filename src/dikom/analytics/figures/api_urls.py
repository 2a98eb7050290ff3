from django.urls import URLPattern, path

from dikom.analytics.figures import api

urlpatterns: list[URLPattern] = [
    path("figures", api.FigureView.as_view(), name="analytics-figures"),
]
