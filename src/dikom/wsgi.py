import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.production")

django_application = get_wsgi_application()

# The usage-event ingestion endpoint's fast path answers plainly valid requests itself
# and hands everything else to Django (dikom.analytics.api.fastpath).
from dikom.analytics.api.fastpath import IngestFastPath  # noqa: E402 - needs the settings configured above

application = IngestFastPath(django_application)
