from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "dikom.opendata"
    label = "opendata"
    verbose_name = _("Open data portal")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from dikom.lib import periodic
        from dikom.opendata import catalogue_index, scopes  # noqa: F401  (scopes registers the API key scope)
        from dikom.opendata.models import Dataset, DatastoreTable, Organization, Resource

        # The search's in-process index notices changes made in this process at once (see catalogue_index).
        for model in (Dataset, Resource, Organization):
            post_save.connect(
                catalogue_index.changed, sender=model, dispatch_uid=f"opendata-index-save-{model.__name__}"
            )
            post_delete.connect(
                catalogue_index.changed, sender=model, dispatch_uid=f"opendata-index-delete-{model.__name__}"
            )
        m2m_changed.connect(catalogue_index.changed, sender=Dataset.tags.through, dispatch_uid="opendata-index-tags")

        # A DataStore table's own table goes with it (a deleted distribution or dataset, datastore_delete);
        # in the same transaction, so a rollback keeps both.
        post_delete.connect(_drop_datastore_table, sender=DatastoreTable, dispatch_uid="opendata-datastore-drop")

        # Harvest sources whose schedule is due are queued every five minutes (idempotent, see tasks.py).
        periodic.register("opendata.harvest", "dikom.opendata.tasks.harvest_due_sources", every_seconds=300)


def _drop_datastore_table(sender: type, instance: object, **kwargs: object) -> None:
    from dikom.opendata import datastore

    datastore.drop_physical(instance)  # type: ignore[arg-type]
