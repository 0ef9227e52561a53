from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        # allauth's own e-mails go through the outbox like every app's (portal.adapters).
        from portal.adapters import ALLAUTH_MESSAGE
        from portal.outbox import register_kind

        register_kind(ALLAUTH_MESSAGE)
        # A second factor turned on or off gives the session a new key.
        from portal import session_keys

        session_keys.connect()
