from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Its queue actions, e-mails and account-page section join the shared registries.
        from billing import actions, demo, listeners, messages, sections

        actions.register()
        listeners.register()  # an agreement staff end is announced like an unusable method
        messages.register()
        sections.register()
        demo.register()  # seed_demo's billing history
        # Writes to an account's rows renew the generation its cached fragments are keyed on.
        from billing import caching

        caching.register()
