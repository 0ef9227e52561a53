"""The rights levels a grant carries, kept with the models that store them.

accounts.rights answers the questions about them and re-exports `Right` for its callers.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Right(models.IntegerChoices):
    """Each right includes the ones below it, so "at least" is a plain `>=`."""

    CONSULT = 10, _("Consult")
    MANAGE = 20, _("Manage")
    VALIDATE = 30, _("Validate")


# The most an account's default right (what users who link it themselves receive) can be: anyone
# who knows its three numbers can link, so never the right that spends money or opens access.
HIGHEST_DEFAULT_RIGHT = Right.MANAGE
DEFAULT_RIGHT_CHOICES = [
    (level.value, level.label) for level in Right if level <= HIGHEST_DEFAULT_RIGHT
]
