import os

from django.core.wsgi import get_wsgi_application

from dikom.lib.warmup import warm_up_and_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.production")

django_application = get_wsgi_application()

# The usage-event ingestion endpoint's fast path answers plainly valid requests itself
# and hands everything else to Django (dikom.analytics.api.fastpath).
from dikom.analytics.api.fastpath import IngestFastPath  # noqa: E402 - needs the settings configured above

application = IngestFastPath(django_application)

# Import every view and compile every template now, not on the first requests, then keep all of it
# (it lives as long as the process) out of the garbage collector's full passes, which otherwise scan
# it again and again and pause a request for tens of milliseconds now and then (docs/benchmarks.md).
warm_up_and_freeze()
