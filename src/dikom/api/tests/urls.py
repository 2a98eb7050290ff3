"""A test-only URLconf: the real API plus two endpoints the API does not have yet
(one that accepts JSON bodies, one that fails), to test the error handling."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dikom.api.views import BaseApiView


class EchoView(BaseApiView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response({"received": request.data})


class RawBodyView(APIView):
    """Without BaseApiView: reads ``request.body``, where Django itself enforces the size limit."""

    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response({"bytes": len(request.body)})


class BrokenView(BaseApiView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Any:
        raise RuntimeError("boom")


urlpatterns = [
    path("api/v1/test-echo/", EchoView.as_view()),
    path("api/v1/test-broken/", BrokenView.as_view()),
    path("api/v1/test-raw/", RawBodyView.as_view()),
    path("api/v1/", include("dikom.api.urls")),
]
