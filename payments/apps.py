from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import checks, events

        events.register_outbox_handlers()
        del checks  # imported for its @register side effect
