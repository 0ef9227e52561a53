from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "returns"
    verbose_name = _("Returns")

    def ready(self) -> None:
        # Its queue actions, e-mails and account-page section join the shared registries, and
        # it listens to billing's announcements about payment methods.
        from returns import actions, demo, listeners, messages, sections

        actions.register()
        messages.register()
        sections.register()
        listeners.register()
        demo.register()
        # Writes to an account's rows renew the generation its cached fragments are keyed on.
        from returns import caching

        caching.register()
