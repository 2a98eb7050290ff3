from django.urls import path

from dikom.competences import views

app_name = "competences"

urlpatterns = [
    path("", views.index, name="index"),
    path("vergleich/", views.compare, name="compare"),
    path("rahmen/", views.frameworks, name="frameworks"),
    path("rahmen/<uuid:version_uuid>/", views.framework_version, name="framework"),
    path("rahmen/<uuid:version_uuid>/export.<str:fmt>", views.framework_export, name="framework_export"),
    path("profile/", views.profiles, name="profiles"),
    path("personen/<uuid:staff_uuid>/", views.person, name="person"),
    path("personen/<uuid:staff_uuid>/selbsteinschaetzung/", views.self_assessment, name="self_assessment"),
    path("personen/<uuid:staff_uuid>/bewertung/<uuid:assessment_uuid>/", views.review, name="review"),
    path("personen/<uuid:staff_uuid>/nachweis/<uuid:assessment_uuid>/", views.add_evidence, name="add_evidence"),
    path("personen/<uuid:staff_uuid>/datei/<uuid:evidence_uuid>/", views.evidence_file, name="evidence_file"),
    path("<slug:slug>/heatmap/", views.heat_map, name="heat_map"),
    path("<slug:slug>/einstellungen/", views.city_settings, name="settings"),
    path("<slug:slug>/rahmen/import/", views.framework_import, name="framework_import"),
]
