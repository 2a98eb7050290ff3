"""Routed at the site root: ``/matomo.php``, the collector script and the staff pages."""

from django.urls import URLPattern, path

from dikom.analytics.collect import demo_views, public_views, views

app_name = "analytics_collect"

PREFIX = "analytics-erfassung/<slug:slug>/"

urlpatterns: list[URLPattern] = [
    path("matomo.php", public_views.matomo_tracking, name="matomo"),
    path("analytics-erfassung/collect.js", public_views.collector_script, name="script"),
    # The demo form system (DIKOM_DEMO only): a form that sends usage data with the snippet.
    path("demo-formular/sperrmuell/", demo_views.form_page, name="demo_form"),
    path("demo-formular/sperrmuell/<slug:step>/", demo_views.form_page, name="demo_form_step"),
    path(PREFIX, views.site_list, name="site_list"),
    path(PREFIX + "neu/", views.site_create, name="site_create"),
    path(PREFIX + "<slug:site_id>/", views.site_detail, name="site_detail"),
    path(PREFIX + "<slug:site_id>/bearbeiten/", views.site_edit, name="site_edit"),
    path(PREFIX + "<slug:site_id>/loeschen/", views.site_delete, name="site_delete"),
    path(PREFIX + "<slug:site_id>/testen/", views.site_test, name="site_test"),
    path(PREFIX + "<slug:site_id>/regeln/neu/", views.rule_edit, name="rule_create"),
    path(PREFIX + "<slug:site_id>/regeln/<int:rule_id>/bearbeiten/", views.rule_edit, name="rule_edit"),
    path(PREFIX + "<slug:site_id>/regeln/<int:rule_id>/loeschen/", views.rule_delete, name="rule_delete"),
]
