from django.urls import URLPattern, path, re_path

from dikom.analytics.sharing import opendata_views as views

app_name = "analytics_opendata"

urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("index.json", views.index_json, name="index_json"),
    path("spalten/", views.columns, name="columns"),
    path("spalten.json", views.columns_json, name="columns_json"),
    re_path(r"^(?P<ags>\d{8})/(?P<month>\d{4}-\d{2})\.(?P<fmt>csv|json)$", views.month_file, name="month"),
    re_path(r"^(?P<ags>\d{8})/(?P<year>\d{4})\.(?P<fmt>csv|json)$", views.year_file, name="year"),
]
