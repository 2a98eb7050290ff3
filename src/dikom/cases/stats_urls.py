app_name = "cases_stats"

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
