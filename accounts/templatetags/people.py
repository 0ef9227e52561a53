"""How pages and e-mails name a person beside their address.

{% load people %}
{{ link.user.display_name|with_email:link.user.email }}  → "Céline Roy (celine@x.example)"
"""

from django import template

register = template.Library()


@register.filter
def with_email(name: str, email: str) -> str:
    """The name with the address after it, or the address alone for a profile without a name:
    never "celine@x.example (celine@x.example)"."""
    return f"{name} ({email})" if name and name != email else email
