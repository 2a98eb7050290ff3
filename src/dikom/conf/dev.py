"""Development defaults: local HTTP, embedded SQLite, mails on the console, demo on.

Only sets environment defaults, then imports the base settings.
"""

import os

for _name, _value in {
    "DIKOM_ENVIRONMENT": "development",
    "DIKOM_DEBUG": "true",
    "DIKOM_ALLOWED_HOSTS": "127.0.0.1,localhost,[::1],testserver",
    "DIKOM_SECURE_COOKIES": "false",
    "DIKOM_SSL_REDIRECT": "false",
    "DIKOM_HSTS_SECONDS": "0",
    "DIKOM_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    "DIKOM_REQUIRE_2FA_FOR_STAFF": "false",
    "DIKOM_DEMO": "true",
    # make run uses or starts a local MQTT broker for live sensor readings.
    "DIKOM_MQTT_AUTOSTART": "true",
    # Closed cases go as xdomea packages into a folder under the data directory (see below).
    "DIKOM_EFILE_CONNECTOR": "filedrop",
}.items():
    os.environ.setdefault(_name, _value)

from dikom.conf import base as _base  # noqa: E402
from dikom.conf.base import *  # noqa: E402,F403

if not _base.DIKOM_EFILE_DROP_DIR:
    DIKOM_EFILE_DROP_DIR = str(_base.DATA_DIR / "e-akte")

WHITENOISE_USE_FINDERS = True  # static files change while developing
