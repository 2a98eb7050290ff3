from django.urls import path

from dikom.competences import document_views, programme_views, views

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
    path("<slug:slug>/roadmap/", views.roadmap, name="roadmap"),
    path("<slug:slug>/roadmap.pdf", views.roadmap_pdf, name="roadmap_pdf"),
    path("<slug:slug>/einstellungen/", views.city_settings, name="settings"),
    path("<slug:slug>/rahmen/import/", views.framework_import, name="framework_import"),
]

urlpatterns += [
    path("schulungen/", programme_views.trainings, name="trainings"),
    path("schulungen/<uuid:training_uuid>/", programme_views.training, name="training"),
    path("schulungen/<uuid:training_uuid>/termin.ics", programme_views.training_ics, name="training_ics"),
    path("schulungen/<uuid:training_uuid>/anmelden/", programme_views.training_enrol, name="training_enrol"),
    path("schulungen/<uuid:training_uuid>/abmelden/", programme_views.training_cancel, name="training_cancel"),
    path(
        "schulungen/<uuid:training_uuid>/abschluss/<uuid:enrolment_uuid>/",
        programme_views.training_complete,
        name="training_complete",
    ),
    path("freigaben/", programme_views.approvals, name="approvals"),
    path("freigaben/<uuid:enrolment_uuid>/", programme_views.approval_decide, name="approval_decide"),
    path("experten/", programme_views.experts, name="experts"),
    path("experten/mein-eintrag/", programme_views.expert_entry, name="expert_entry"),
    path("experten/austragen/", programme_views.expert_opt_out, name="expert_opt_out"),
    path("experten/<uuid:expert_uuid>/kontakt/", programme_views.expert_contact, name="expert_contact"),
    path("cluster/", programme_views.clusters, name="clusters"),
    path("cluster/dokumente/suche/", document_views.document_search, name="document_search"),
    path("cluster/<slug:key>/", programme_views.cluster, name="cluster"),
    path("cluster/<slug:key>/dokumente/neu/", document_views.document_new, name="document_new"),
    path("cluster/<slug:key>/dokumente/<uuid:document_uuid>/", document_views.document, name="document"),
    path(
        "cluster/<slug:key>/dokumente/<uuid:document_uuid>/v<int:number>/",
        document_views.document_download,
        name="document_download",
    ),
    path("<slug:slug>/schulungen/neu/", programme_views.training_new, name="training_new"),
]
