from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.static import serve

urlpatterns: list[URLPattern | URLResolver] = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("konto/", include("dikom.accounts.urls")),
    # Analytics (eGovSAD): more specific prefixes first.
    path("api/v1/analytics/", include("dikom.analytics.collect.api_urls")),
    path("api/v1/analytics/", include("dikom.analytics.figures.api_urls")),
    path("api/v1/analytics/", include("dikom.analytics.sharing.api_urls")),
    path("api/v1/analytics/", include("dikom.analytics.dashboards.api_urls")),
    path("api/v1/analytics/", include("dikom.analytics.api.urls")),
    path("api/v1/eservices/", include("dikom.eservices.api.urls")),
    path("api/v1/cases/", include("dikom.cases.api.urls")),
    path("api/v1/mail/", include("dikom.cases.mail.urls")),
    path("api/v1/", include("dikom.api.urls")),
    path("sta/", include("dikom.sensors.urls")),  # OGC SensorThings API
    path("stadt/", include("dikom.smartcity.urls")),  # citizen smart-city app
    path("", include("dikom.analytics.collect.urls")),  # /matomo.php and the JavaScript collector
    path("analytics/daten/", include("dikom.analytics.figures.urls")),
    path("analytics/vergleich/", include("dikom.analytics.sharing.urls")),
    path("opendata/nutzungsstatistik/", include("dikom.analytics.sharing.opendata_urls")),
    path("analytics/", include("dikom.analytics.dashboards.urls")),
    path("analytics/", include("dikom.analytics.urls")),
    path("dienste/", include("dikom.eservices.urls")),
    path("portal/", include("dikom.portal.urls")),
    path("anmeldung/", include("dikom.authproviders.urls")),
    path("zahlung/", include("dikom.payments.urls")),
    path("uebergabe/", include("dikom.handover.urls")),
    path("vorgaenge/", include("dikom.cases.stats_urls")),
    path("vorgaenge/", include("dikom.cases.urls")),
    path("automatisierung/", include("dikom.cases.automation.urls")),
    path("kompetenzen/", include("dikom.competences.urls")),
    path("transferforum/", include("dikom.forum.urls")),
    path("verwaltung/", include("dikom.municipalities.urls")),
    path("plattform-admin/", admin.site.urls),
    path("", include("dikom.opendata.urls")),  # /opendata/, /catalog.ttl, CKAN's /api/3/action/
    path("", include("dikom.web.urls")),
]

if settings.DEBUG:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]

handler400 = "dikom.web.views.bad_request"
handler403 = "dikom.web.views.permission_denied"
handler404 = "dikom.web.views.page_not_found"
handler500 = "dikom.web.views.server_error"
