from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outages"
    verbose_name = _("Maintenance")

    def ready(self) -> None:
        from outages import notifications, signals  # noqa: F401

        # The maintenance notices join the outbox's registry of message kinds.
        notifications.register()
