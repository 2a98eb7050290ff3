app_name = "cases_automation"

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
