import pytest

pytestmark = pytest.mark.django_db


def test_pages_are_german_even_when_the_browser_prefers_english(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert '<html lang="de">' in response.content.decode()
    assert response["Content-Language"] == "de"


def test_the_language_switcher_turns_pages_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="de")

    assert '<html lang="en">' in page.content.decode()


def test_an_unknown_language_cookie_falls_back_to_german(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"

    assert '<html lang="de">' in client.get("/").content.decode()


def test_the_api_negotiates_the_language(client):
    response = client.get("/api/v1/gibt-es-nicht/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["detail"].startswith("No API endpoint")
