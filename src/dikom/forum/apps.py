from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForumConfig(AppConfig):
    name = "dikom.forum"
    label = "forum"
    verbose_name = _("Digital Transfer Forum")

    def ready(self) -> None:
        from dikom.forum.documents import register_sources
        from dikom.lib import periodic

        register_sources()
        periodic.register("forum.digest", "dikom.forum.tasks.send_daily_digests", every_seconds=3600)
