from django.urls import URLPattern, re_path

from dikom.sensors.api.lorawan_views import uplink
from dikom.sensors.api.views import sta

app_name = "sensors"

urlpatterns: list[URLPattern] = [
    re_path(r"^lorawan/(?P<city>[-\w]+)/(?P<stack>tts|chirpstack)/?$", uplink, name="lorawan-uplink"),
    re_path(r"^(?P<version>v1\.[01])/(?P<path>.*)$", sta, name="sta"),
]
