from django.urls import URLPattern, URLResolver, path

from dikom.cases import stats_views

app_name = "cases_stats"

urlpatterns: list[URLPattern | URLResolver] = [
    path("<slug:slug>/statistik/", stats_views.statistics_page, name="statistics"),
    path("<slug:slug>/statistik.csv", stats_views.statistics_csv, name="statistics_csv"),
    path("<slug:slug>/statistik.xlsx", stats_views.statistics_xlsx, name="statistics_xlsx"),
]
