from django.urls import path

from dikom.payments import views
from dikom.payments.contrib import demo

app_name = "payments"

urlpatterns = [
    path("benachrichtigung/<slug:provider_key>/", views.notification, name="notification"),
    path("demo/<uuid:uuid>/", demo.demo_platform, name="demo_platform"),
    path("<uuid:uuid>/start/", views.start, name="start"),
    path("<uuid:uuid>/rueckkehr/", views.return_view, name="return"),
]
