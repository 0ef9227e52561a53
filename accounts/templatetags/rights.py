"""Rights in templates, from the request's summary: one query per request however many asks.

{% load rights %}
{% may "manage" account as can_manage %}{% if can_manage %}<a ...>Edit</a>{% endif %}
{% rights_on account as mine %}{% if mine.administrator %}...{% endif %}
"""

from typing import Any

from django import template

from accounts import rights
from accounts.rights import AccountRights, Right
from accounts.rightsets import LEVEL_WORDS

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context: template.Context, level: str, target: Any) -> bool:
    """Whether the signed-in user holds `level` ("consult", "manage", "validate") on `target`."""
    request = context.get("request")
    if request is None or target is None:
        return False
    return rights.for_request(request).can(Right[level.upper()], target)


@register.simple_tag(takes_context=True)
def rights_on(context: template.Context, account: Any) -> AccountRights:
    request = context.get("request")
    if request is None:
        return AccountRights(account_id=getattr(account, "pk", 0))
    return rights.for_request(request).of(account)


@register.filter
def level_words(level: int | None) -> str:
    """`{{ mine.whole|level_words }}`: "Consult and manage"."""
    return str(LEVEL_WORDS.get(level, "")) if level else ""
