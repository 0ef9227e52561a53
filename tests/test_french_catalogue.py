"""Every string of the portal ships in French: none untranslated, none fuzzy, none missing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
CATALOGUE = Path("locale") / "fr" / "LC_MESSAGES" / "django.po"
SOURCE = ["manage.py", "portal", "accounts", "outages", "returns", "billing", "templates"]


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
    assert _problems(BASE_DIR / CATALOGUE) == []


def test_catalogue_holds_every_string_of_the_source(tmp_path: Path) -> None:
    """Re-extract the strings in a copy of the source: anything new shows up as untranslated.

    A copy, because makemessages always writes to the `locale/` beside the source it reads.
    """
    if shutil.which("xgettext") is None:
        if settings.PORTAL_REQUIRE_SERVICES:
            pytest.fail("GNU gettext (xgettext) is required to check the catalogue in CI")
        pytest.skip("GNU gettext is not installed")
    for name in SOURCE:
        source = BASE_DIR / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / CATALOGUE).parent.mkdir(parents=True)
    shutil.copy(BASE_DIR / CATALOGUE, tmp_path / CATALOGUE)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "fr", "--no-obsolete"],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"},
        check=True,
        capture_output=True,
    )
    assert _problems(tmp_path / CATALOGUE) == []
