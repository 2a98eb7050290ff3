from django.urls import path

from dikom.cases.mail import api

app_name = "mail-api"

urlpatterns = [
    path("inbound/", api.InboundMailView.as_view(), name="inbound"),
]
