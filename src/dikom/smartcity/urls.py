from django.urls import path

from dikom.smartcity import (
    device_views,
    publishing_views,
    views,
    views_alerts,
    views_import,
    views_pwa,
    views_staff,
)

app_name = "smartcity"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:city>/", views.city_home, name="city"),
    path("<slug:city>/manifest.webmanifest", views_pwa.manifest, name="manifest"),
    path("<slug:city>/sw.js", views_pwa.service_worker, name="service_worker"),
    path("<slug:city>/offline/", views_pwa.offline, name="offline"),
    path("<slug:city>/baeume/", views.tree_list, name="trees"),
    path("<slug:city>/baeume/karte.json", views.tree_map_data, name="tree_map_data"),
    path("<slug:city>/baeume/import/", views_import.tree_import, name="tree_import"),
    path("<slug:city>/baeume/import/<uuid:job>/", views_import.tree_import_status, name="tree_import_status"),
    path("<slug:city>/regen/", views_import.rain, name="rain"),
    path("<slug:city>/regen/import/", views_import.rain_import, name="rain_import"),
    path("<slug:city>/baeume/<uuid:tree>/", views.tree_detail, name="tree"),
    path("<slug:city>/baeume/<uuid:tree>/patenschaft/", views.adopt, name="adopt"),
    path("<slug:city>/baeume/<uuid:tree>/giessen/", views.water, name="water"),
    path("<slug:city>/baeume/<uuid:tree>/benachrichtigung/", views_alerts.tree_alert, name="tree_alert"),
    path("<slug:city>/meine-baeume/benachrichtigung/", views_alerts.my_alerts, name="my_alerts"),
    path("<slug:city>/warnungen/", views_alerts.sensor_alerts, name="sensor_alerts"),
    path("<slug:city>/meine-baeume/", views.my_trees, name="my_trees"),
    path("<slug:city>/giessprotokoll/", views.watering_log, name="watering_log"),
    path("<slug:city>/giessprotokoll.csv", views.watering_log_csv, name="watering_log_csv"),
    path("<slug:city>/baustellen/", views.construction_sites, name="sites"),
    path("<slug:city>/baustellen/neu/", views.construction_site_new, name="site_new"),
    path("<slug:city>/baustellen/<uuid:site>/entfernen/", views.construction_site_delete, name="site_delete"),
    path("<slug:city>/abfallbehaelter/", views.litter_bins, name="bins"),
    path("<slug:city>/abfallbehaelter/leerungstour/", views_staff.bin_route, name="bin_route"),
    path("<slug:city>/abfallbehaelter/leerungstour.csv", views_staff.bin_route_csv, name="bin_route_csv"),
    path("<slug:city>/abfallbehaelter/leerungstour.gpx", views_staff.bin_route_gpx, name="bin_route_gpx"),
    path("<slug:city>/schwellenwerte/", views_staff.thresholds, name="thresholds"),
    path("<slug:city>/schwellenwerte/<uuid:rule>/entfernen/", views_staff.threshold_delete, name="threshold_delete"),
    path("<slug:city>/messwerte-export/", views_staff.readings_export, name="readings_export"),
    path("<slug:city>/sensordaten/", views.publication, name="publication"),
    path("<slug:city>/geraete/", device_views.devices, name="devices"),
    path("<slug:city>/geraete/<str:dev_eui>/zuordnen/", device_views.device_map, name="device_map"),
    # Open data files of the generated datasets (publishing.py).
    *publishing_views.urlpatterns(),
]
