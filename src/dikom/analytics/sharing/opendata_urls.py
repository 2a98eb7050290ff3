from django.urls import path  # noqa: F401

app_name = "analytics_opendata"

urlpatterns: list = []
