"""API keys of machine clients: ``Authorization: Api-Key <key>`` (``Bearer`` works too)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from dikom.accounts.models import ApiKey
from dikom.accounts.service import ApiKeyUser, authenticate_api_key

KEYWORDS = ("api-key", "bearer")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        keyword, _sep, token = header.partition(" ")
        if keyword.lower() not in KEYWORDS:
            return None
        token = token.strip()
        if not token:
            raise exceptions.AuthenticationFailed(_("The Authorization header names no key."))
        api_key = authenticate_api_key(token)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Unknown, revoked or expired API key."))
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="dikom"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "dikom.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a key of one municipality, created by its administrators.",
        }
