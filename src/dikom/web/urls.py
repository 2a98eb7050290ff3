from django.urls import path

from dikom.web import views

app_name = "web"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("start/", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
]
