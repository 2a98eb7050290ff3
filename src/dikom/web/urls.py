from django.urls import path, re_path

from dikom.web import views
from dikom.web.modules import MODULES

app_name = "web"

# One name for all module pages: reverse with ``{% url 'web:module' slug='dienste' %}``.
_MODULE_SLUGS = "|".join(module.slug for module in MODULES)

urlpatterns = [
    path("", views.landing, name="landing"),
    path("start/", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("kommunen/", views.municipality_list, name="municipality_list"),
    path("kommunen/<slug:slug>/", views.municipality_detail, name="municipality_detail"),
    path("barrierefreiheit/", views.accessibility, name="accessibility"),
    re_path(rf"^(?P<slug>{_MODULE_SLUGS})/$", views.module, name="module"),
]
