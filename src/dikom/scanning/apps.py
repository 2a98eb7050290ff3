from django.apps import AppConfig


class ScanningConfig(AppConfig):
    name = "dikom.scanning"
    verbose_name = "Upload scanning"

    def ready(self) -> None:
        from dikom.scanning import checks  # noqa: F401  (registers the system checks)
