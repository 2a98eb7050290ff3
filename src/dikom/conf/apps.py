from django.apps import AppConfig


class ConfConfig(AppConfig):
    name = "dikom.conf"
    label = "dikom_conf"
    verbose_name = "Configuration"
