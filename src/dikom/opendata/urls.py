from django.urls import path, re_path

from dikom.opendata import ckan_views, feeds, harvest_views, manage_views, views

app_name = "opendata"

urlpatterns = [
    path("opendata/", views.index, name="index"),
    path("opendata/feed.atom", feeds.DatasetFeed(), name="feed_atom"),
    path("opendata/feed.rss", feeds.DatasetRssFeed(), name="feed_rss"),
    path("opendata/organisationen/<slug:name>/feed.atom", feeds.DatasetFeed(), name="organization_feed_atom"),
    path("opendata/organisationen/<slug:name>/feed.rss", feeds.DatasetRssFeed(), name="organization_feed_rss"),
    path("opendata/datensaetze/<slug:name>/", views.dataset_detail, name="dataset"),
    re_path(
        r"^opendata/datensaetze/(?P<name>[-\w]+)\.(?P<extension>ttl|rdf|jsonld)$", views.dataset_rdf, name="dataset_rdf"
    ),
    path(
        "opendata/datensaetze/<slug:name>/ressourcen/<uuid:resource_id>/download",
        views.download,
        name="download",
    ),
    path(
        "opendata/datastore/<uuid:resource_id>/download.<str:fmt>", views.datastore_dump, name="datastore_dump_format"
    ),
    path("opendata/datastore/<uuid:resource_id>/download", views.datastore_dump, name="datastore_dump"),
    path("opendata/verwaltung/", manage_views.manage, name="manage"),
    path("opendata/verwaltung/harvesting/", harvest_views.sources, name="harvest_sources"),
    path("opendata/verwaltung/harvesting/<uuid:source_id>/", harvest_views.source_detail, name="harvest_source"),
    path(
        "opendata/verwaltung/harvesting/<uuid:source_id>/aktion",
        harvest_views.source_action,
        name="harvest_source_action",
    ),
    path("opendata/verwaltung/neu/<slug:org>/", manage_views.create, name="create"),
    path("opendata/verwaltung/<slug:name>/", manage_views.edit, name="edit"),
    path("opendata/verwaltung/<slug:name>/status", manage_views.change_state, name="change_state"),
    path("opendata/verwaltung/<slug:name>/ressourcen", manage_views.add_resource, name="add_resource"),
    path(
        "opendata/verwaltung/<slug:name>/tabellen/<uuid:resource_id>/spaltentypen",
        manage_views.datastore_types,
        name="datastore_types",
    ),
    path("opendata/organisationen/<slug:name>/", views.organization_detail, name="organization"),
    re_path(r"^catalog\.(?P<extension>ttl|rdf|jsonld)$", views.catalog, name="catalog"),
    path("dataset/<str:id_or_name>", views.dataset_redirect, name="dataset_redirect"),
    path("api/3/action/<str:name>", ckan_views.action, name="ckan_action_v3"),
    path("api/action/<str:name>", ckan_views.action, name="ckan_action"),
]
