from django.urls import path

from dikom.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("anmelden/", views.LoginView.as_view(), name="login"),
    path("abmelden/", views.LogoutView.as_view(), name="logout"),
    path("registrieren/", views.register, name="register"),
    path("passwort-vergessen/", views.PasswordResetView.as_view(), name="password_reset"),
    path("passwort-vergessen/gesendet/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "passwort-zuruecksetzen/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("passwort-zuruecksetzen/fertig/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("passwort-aendern/", views.PasswordChangeView.as_view(), name="password_change"),
    path("passwort-aendern/fertig/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("zwei-faktor/einrichten/", views.two_factor_setup, name="two_factor_setup"),
    path("zwei-faktor/pruefen/", views.two_factor_verify, name="two_factor_verify"),
    path("zwei-faktor/ersatzcodes/", views.two_factor_backup_codes, name="two_factor_backup_codes"),
    path("zwei-faktor/deaktivieren/", views.two_factor_disable, name="two_factor_disable"),
]
