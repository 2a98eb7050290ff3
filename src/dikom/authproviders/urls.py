from django.urls import path

from dikom.authproviders import views
from dikom.authproviders.contrib import demo

app_name = "authproviders"

urlpatterns = [
    path("abmelden/", views.sign_out, name="sign_out"),
    path("demo/formular/", demo.demo_form, name="demo_form"),
    path("<slug:key>/start/", views.start, name="start"),
    path("<slug:key>/rueckkehr/", views.return_view, name="return"),
    path("<slug:key>/acs/", views.post_return, name="post_return"),
    path("<slug:key>/metadata/", views.metadata, name="metadata"),
]
