from django.urls import URLPattern, re_path

from dikom.sensors.api.views import sta

app_name = "sensors"

urlpatterns: list[URLPattern] = [
    re_path(r"^(?P<version>v1\.[01])/(?P<path>.*)$", sta, name="sta"),
]
