"""Every string of the portal ships in French: none untranslated, none fuzzy, none missing."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def _problems(po_path: Path) -> list[str]:
    with po_path.open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not all(strings):
            problems.append(f"untranslated: {message.id!r}")
    return problems


def test_catalogue_is_complete() -> None:
    assert _problems(CATALOGUE) == []


def test_catalogue_holds_every_string_of_the_source(tmp_path: Path) -> None:
    """Re-extract the strings into a copy: anything new shows up as untranslated."""
    if shutil.which("xgettext") is None:
        if settings.PORTAL_REQUIRE_SERVICES:
            pytest.fail("GNU gettext (xgettext) is required to check the catalogue in CI")
        pytest.skip("GNU gettext is not installed")
    copy = tmp_path / "fr" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(CATALOGUE, copy)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "fr", "--no-obsolete",
         "--ignore", ".venv/*", "--ignore", "tests/*", "--settings", "tests.catalogue_settings"],
        cwd=settings.BASE_DIR, env={**__import__("os").environ, "PORTAL_CATALOGUE_DIR": str(tmp_path)},
        check=True, capture_output=True,
    )
    assert _problems(copy) == []
