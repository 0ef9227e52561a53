"""Returns' section of the account page (portal.sections), from ReturnsConfig.ready()."""

from django.utils.translation import gettext_lazy as _

from accounts.models import Right
from outages.features import Feature
from portal.sections import Section, register_section


def register() -> None:
    register_section(
        Section(
            key="returns.policies",
            title=_("Returns"),
            url_name="returns:policies",
            right=Right.CONSULT,
            feature=Feature.RETURN_POLICIES,
            order=40,
        )
    )
