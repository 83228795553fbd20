from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "hub.kernel"
    label = "kernel"
    verbose_name = "LiveHub kernel"
