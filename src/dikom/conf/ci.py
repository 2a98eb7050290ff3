"""Settings for the test suite: like development, with two-factor enforcement on
(tests that need it off say so) and a fast password hasher.

Only sets environment defaults, then imports the base settings.
"""

import os

for _name, _value in {
    "DIKOM_ENVIRONMENT": "ci",
    "DIKOM_DEBUG": "false",
    "DIKOM_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DIKOM_SECURE_COOKIES": "false",
    "DIKOM_SSL_REDIRECT": "false",
    "DIKOM_HSTS_SECONDS": "0",
    "DIKOM_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "DIKOM_REQUIRE_2FA_FOR_STAFF": "true",
    "DIKOM_DEMO": "false",
    # Every test signs in from 127.0.0.1 into one in-memory cache; the tests of the limit set their own.
    "DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE": "100000",
    # Tests render a page, change data and expect the change on the next request; the page cache's
    # own tests (dikom/lib/tests/test_pagecache.py, the portal's test_page_cache.py) switch it on.
    "DIKOM_PAGE_CACHE_SECONDS": "0",
    # One server process: `manage.py serve` in tests serves as before (the tests of several processes set 2).
    "DIKOM_WEB_PROCESSES": "1",
}.items():
    os.environ.setdefault(_name, _value)

from dikom.conf.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# No collectstatic before tests: serve static files unhashed from the apps.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
if DIKOM_WEB_PROCESSES == 1:  # noqa: F405
    # Rate-limit counters in memory: tests need no cache table (and no Redis even where DIKOM_CACHE_URL is set).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
