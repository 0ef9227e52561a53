"""`{% fragment fragment_key %}…{% endfragment %}`: the enclosed part served from the cache
under `fragment_key` (portal.fragments.key), rendered and stored when missing. A None key (the
cache is down, no session yet) renders it as if the tag were not there."""

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from portal import fragments

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, nodelist: template.NodeList, key: template.base.FilterExpression) -> None:
        self.nodelist = nodelist
        self.key = key

    def render(self, context: template.Context) -> SafeString:
        fragment_key = self.key.resolve(context)
        if not fragment_key:
            return self.nodelist.render(context)
        cached = fragments.get(fragment_key)
        if cached is not None:
            return mark_safe(cached)  # noqa: S308 - HTML this template rendered and escaped
        html = self.nodelist.render(context)
        fragments.store(fragment_key, str(html))
        return html


@register.tag
def fragment(parser: template.base.Parser, token: Any) -> FragmentNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% fragment %} takes one argument: the key")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(nodelist, parser.compile_filter(bits[1]))
