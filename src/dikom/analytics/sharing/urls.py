from django.urls import URLPattern, path

from dikom.analytics.sharing import views

app_name = "analytics_sharing"

urlpatterns: list[URLPattern] = [
    path("<slug:slug>/", views.overview, name="overview"),
    path("<slug:slug>/leika/<str:leika_key>/", views.compare, name="compare"),
    path("<slug:slug>/freigaben/", views.shares, name="shares"),
    path("<slug:slug>/opendata/", views.open_data, name="open_data"),
]
