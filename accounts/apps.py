from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    # allauth's own app is labelled "Accounts" in the admin; this one holds the businesses.
    verbose_name = _("Business accounts and users")

    def ready(self) -> None:
        # Who a maintenance window on an account capability concerns: outages asks this hook
        # rather than reading the account links itself.
        from accounts import selectors
        from outages.audience import register_audience

        register_audience(selectors.acting_for_an_account)
        # The account-administration actions join the validation queue's registry; returns and
        # billing register theirs the same way from their own ready().
        from accounts import actions, messages

        actions.register()
        # The delegated-users e-mails and text join the outbox's registry of message kinds.
        messages.register()
        # So do the linking e-mails (a contact told of a new link, a user told of a removal).
        from accounts import notifications

        notifications.register()
        # The account page's Users, Audit trail and To validate sections; returns and billing
        # add theirs to the same registry (portal.sections).
        from accounts import sections

        sections.register()
        # Writes to an account's rows renew the generation its cached fragments are keyed on.
        from accounts import caching

        caching.register()
