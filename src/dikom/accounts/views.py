"""Temporary minimal views; the accounts work package replaces them."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"


def two_factor_setup(request: HttpRequest) -> HttpResponse:
    return render(request, "web/placeholder.html", {"title": "2FA"})


def two_factor_verify(request: HttpRequest) -> HttpResponse:
    return render(request, "web/placeholder.html", {"title": "2FA"})
