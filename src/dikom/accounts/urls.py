from django.contrib.auth import views as auth_views
from django.urls import path

from dikom.accounts import views

app_name = "accounts"

urlpatterns = [
    path("anmelden/", views.LoginView.as_view(), name="login"),
    path("abmelden/", auth_views.LogoutView.as_view(), name="logout"),
    path("zwei-faktor/einrichten/", views.two_factor_setup, name="two_factor_setup"),
    path("zwei-faktor/pruefen/", views.two_factor_verify, name="two_factor_verify"),
]
