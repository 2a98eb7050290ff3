from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompetencesConfig(AppConfig):
    name = "dikom.competences"
    label = "competences"
    verbose_name = _("roadMAP: competences")

    def ready(self) -> None:
        from dikom.competences import forum_search
        from dikom.lib import periodic

        forum_search.register()
        periodic.register("competences.reminders", "dikom.competences.tasks.send_review_reminders", every_seconds=3600)
        periodic.register("competences.retention", "dikom.competences.tasks.delete_departed", every_seconds=3600)
