from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "Order management"

    def ready(self) -> None:
        from oms import events

        events.register_outbox_handlers()
