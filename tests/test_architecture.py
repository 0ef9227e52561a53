"""Guard rails: the rules that keep the apps apart, checked on every run.

- every URL of the portal's apps declares the gate feature it belongs to (or is always open);
- every validation action and outbox message kind is namespaced ("app.what") and belongs to a
  feature; every message kind has its text in English and in French;
- no module outside accounts/ imports a part of accounts that is not public;
- the apps import each other in one direction only: portal < outages < accounts < billing <
  returns (a module imports its own app and those before it), so there is no cycle.

The composition root (portal's settings, urls and celery modules) wires every app together and
is the one exception to the import rules.
"""

import ast
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from django.apps import apps
from django.template import Context, Engine
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.utils import translation

from accounts import validation
from outages.features import Feature
from outages.middleware import URL_NAME_FEATURES
from portal.open_urls import ALWAYS_OPEN_URL_NAMES
from portal.outbox import registered_kinds

ROOT = Path(__file__).resolve().parent.parent

# --- every URL declares its gate ---------------------------------------------------------------

# Views the portal does not write: the gate middleware closes them by URL name
# (outages.middleware.URL_NAME_FEATURES), and a sign-in interruption closes them all.
THIRD_PARTY_VIEWS = ("allauth.", "django.contrib.", "django.views.")


def _urls(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    """(route, view name, callback) of every URL, walking included resolvers."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from _urls(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


def _declares_its_gate(name: str | None, view: object) -> bool:
    return (
        getattr(view, "gated_feature", None) in Feature.values
        # The validation queue's pages ask each request's own action's feature.
        or getattr(view, "gated_by_action", False)
        or name in ALWAYS_OPEN_URL_NAMES
    )


def unclassified_urls() -> list[str]:
    unclassified = []
    for route, name, view in _urls(get_resolver().url_patterns):
        if getattr(view, "__module__", "").startswith(THIRD_PARTY_VIEWS):
            continue
        if not _declares_its_gate(name, view):
            unclassified.append(f"{route} ({name})")
    return unclassified


def test_every_url_of_the_apps_declares_its_gate_feature_or_is_always_open():
    assert unclassified_urls() == [], (
        "Decorate these views with outages.decorators.feature_required(<Feature>), or, if "
        "nothing may ever close them, add their name to portal.open_urls.ALWAYS_OPEN_URL_NAMES."
    )


def test_an_undecorated_view_is_reported():
    """The walk sees a view nobody classified (so the test above can fail)."""

    def stray(request):  # pragma: no cover - never requested
        raise AssertionError

    patterns = [path("stray/", stray, name="stray"), path("", include([path("x/", stray)]))]
    found = [name for _route, name, view in _urls(patterns) if not _declares_its_gate(name, view)]
    assert found == ["stray", None]


def test_the_always_open_names_exist():
    """A renamed URL would silently fall out of the open list (and be closed)."""
    names = {name for _route, name, _view in _urls(get_resolver().url_patterns) if name}
    assert set(ALWAYS_OPEN_URL_NAMES) - names == set()
    # allauth's views are the middleware's: by name, or (admin) by path.
    assert set(URL_NAME_FEATURES) & set(ALWAYS_OPEN_URL_NAMES) == set()
    assert reverse("home") == "/"


# --- registered actions and message kinds ------------------------------------------------------

ACTION_KIND = re.compile(r"^(?P<app>[a-z][a-z0-9]*)\.[a-z][a-z0-9]*_[a-z0-9_]+$")  # app.verb_noun
MESSAGE_KIND = re.compile(r"^(?P<app>[a-z][a-z0-9]*)\.[a-z][a-z0-9_]*$")  # app.what

# Kinds whose templates only lay out a text rendered, in the recipient's language, before it was
# queued: allauth renders its own messages (templates/account/email/) in the request.
PRE_RENDERED_KINDS = {"allauth.message"}


def _app_labels() -> set[str]:
    return {config.label for config in apps.get_app_configs()}


def test_every_validation_action_is_namespaced_and_belongs_to_a_feature():
    actions = validation.registered()
    assert actions, "accounts registers its actions from ready()"
    for action in actions:
        match = ACTION_KIND.match(action.kind)
        assert match and match["app"] in _app_labels(), f"{action.kind!r}: 'app.verb_noun'"
        assert action.feature in Feature.values, f"{action.kind!r} has no gate feature"


def _templates(kind) -> list[str]:
    suffixes = ("_subject.txt", ".txt", ".html") if kind.channel == "email" else (".txt",)
    return [f"{kind.template_prefix}{suffix}" for suffix in suffixes]


def _gettext(message: str, context: str | None) -> str:
    return translation.pgettext(context, message) if context else translation.gettext(message)


def _translated_text(template_name: str, language: str) -> list[str]:
    """Every {% translate %} and {% blocktranslate %} string of the template, in `language`."""
    nodelist = Engine.get_default().get_template(template_name).nodelist
    texts = []
    with translation.override(language):
        for found in nodelist.get_nodes_by_type(TranslateNode):
            node = cast(TranslateNode, found)
            context = node.message_context.resolve(Context()) if node.message_context else None
            texts.append(_gettext(node.filter_expression.var.literal, context))
        for found in nodelist.get_nodes_by_type(BlockTranslateNode):
            block = cast(BlockTranslateNode, found)
            context = block.message_context.resolve(Context()) if block.message_context else None
            message, _names = block.render_token_list(block.singular)
            texts.append(_gettext(message, context))
    return texts


@pytest.mark.parametrize("kind", registered_kinds(), ids=lambda kind: kind.name)
def test_every_message_kind_is_namespaced_and_speaks_both_languages(kind):
    match = MESSAGE_KIND.match(kind.name)
    assert match and match["app"] in _app_labels(), f"{kind.name!r}: 'app.what'"
    english, french = [], []
    for name in _templates(kind):
        english += _translated_text(name, "en")  # also fails if the template is missing
        french += _translated_text(name, "fr")
    if kind.name in PRE_RENDERED_KINDS:
        assert english == [], f"{kind.name} was listed as pre-rendered but has its own text"
        return
    assert english, f"{kind.name}: its templates have no translatable text"
    assert english != french, f"{kind.name}: the French message reads like the English one"


def test_a_kind_without_french_is_reported():
    assert _translated_text("accounts/email/link_removed_subject.txt", "fr") != (
        _translated_text("accounts/email/link_removed_subject.txt", "en")
    )


# --- imports between apps ----------------------------------------------------------------------

# Lower layers first: an app imports only itself and the apps before it.
LAYERS = ("portal", "outages", "accounts", "billing", "returns")
# The composition root: it wires every app together.
COMPOSITION_ROOT = {"portal.settings", "portal.settings_test", "portal.urls", "portal.celery"}
# What other apps may import from accounts; the rest is internal (README, "Apps").
PUBLIC_ACCOUNTS_MODULES = {
    "accounts.rights",
    "accounts.validation",
    "accounts.audit",
    "accounts.services.requests",  # the validation queue's submit service (prepare_request)
    "accounts.models",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(module: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").exists()


def _is_module(module: str) -> bool:
    if (ROOT / f"{module.replace('.', '/')}.py").exists() or _is_package(module):
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def imported_modules(source: str, module: str) -> set[str]:
    """The modules `source` (the text of `module`) imports, type-checking imports included:
    `from a.b import c` counts as a.b.c when c is a module, else as a.b."""
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate) else base)
    return found


def _sources(*apps_: str, migrations: bool) -> Iterator[tuple[str, str]]:
    for app in apps_:
        for file in sorted((ROOT / app).rglob("*.py")):
            name = _module_name(file)
            if name in COMPOSITION_ROOT or (not migrations and ".migrations" in name):
                continue
            yield name, file.read_text()


def private_accounts_imports(module: str, source: str) -> list[str]:
    return sorted(
        imported
        for imported in imported_modules(source, module)
        if (imported == "accounts" or imported.startswith("accounts."))
        and imported not in PUBLIC_ACCOUNTS_MODULES
    )


def test_no_app_imports_a_part_of_accounts_that_is_not_public():
    offenders = {
        module: found
        for module, source in _sources("portal", "outages", "billing", "returns", migrations=False)
        if (found := private_accounts_imports(module, source))
    }
    assert offenders == {}


def test_a_private_accounts_import_is_reported():
    source = "from accounts import selectors, rights\nfrom accounts.services import users\n"
    assert private_accounts_imports("returns.views", source) == [
        "accounts.selectors",
        "accounts.services.users",
    ]
    assert private_accounts_imports("returns.views", "from accounts.rights import can\n") == []


def app_graph() -> dict[str, set[str]]:
    """app → the other apps its modules import (migrations included, composition root not)."""
    graph: dict[str, set[str]] = {app: set() for app in LAYERS}
    for module, source in _sources(*LAYERS, migrations=True):
        app = module.partition(".")[0]
        for imported in imported_modules(source, module):
            other = imported.partition(".")[0]
            if other in graph and other != app:
                graph[app].add(other)
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{app} imports {other}"
        for app, others in graph.items()
        for other in others
        if LAYERS.index(other) > LAYERS.index(app)
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done = [], set()

    def visit(app: str, path: list[str]) -> None:
        if app in path:
            found.append([*path[path.index(app) :], app])
            return
        if app in done:
            return
        for other in sorted(graph.get(app, ())):
            visit(other, [*path, app])
        done.add(app)

    for app in graph:
        visit(app, [])
    return found


def test_the_apps_import_each_other_in_one_direction_only():
    graph = app_graph()
    assert cycles(graph) == []
    assert upward_imports(graph) == [], f"layers, lowest first: {' < '.join(LAYERS)}"


def test_an_import_against_the_layers_is_reported():
    graph = {"portal": set(), "outages": {"accounts"}, "accounts": {"outages"}}
    assert upward_imports(graph) == ["outages imports accounts"]
    assert cycles(graph) == [["outages", "accounts", "outages"]]


def test_a_relative_import_is_resolved():
    assert imported_modules("from ..models import Right\n", "accounts.views.home") == {
        "accounts.models"
    }


def test_the_right_lives_with_the_models_and_rights_reexports_it():
    from accounts import models, rights
    from accounts.exceptions import DelegationError, LinkingError
    from portal.exceptions import PortalError

    assert rights.Right is models.Right
    assert issubclass(LinkingError, PortalError) and issubclass(DelegationError, PortalError)
    source = (ROOT / "accounts" / "rights.py").read_text()
    assert "import accounts.models as" not in source
    assert '= "active"' not in source
