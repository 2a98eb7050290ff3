import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.production")

django_application = get_wsgi_application()

# The usage-event ingestion endpoint's fast path answers plainly valid requests itself
# and hands everything else to Django (dikom.analytics.api.fastpath).
from dikom.analytics.api.fastpath import IngestFastPath  # noqa: E402 - needs the settings configured above

application = IngestFastPath(django_application)

# Everything loaded so far (Django, the apps, their modules) lives as long as the process:
# keep it out of the garbage collector's full passes, which otherwise scan it again and
# again and pause a request for tens of milliseconds now and then (docs/benchmarks.md).
gc.freeze()
