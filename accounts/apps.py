from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    # allauth's own app is labelled "Accounts" in the admin; this one holds the businesses.
    verbose_name = _("Business accounts and users")

    def ready(self) -> None:
        # The account-administration actions join the validation queue's registry; returns and
        # billing register theirs the same way from their own ready().
        from accounts import actions

        actions.register()
