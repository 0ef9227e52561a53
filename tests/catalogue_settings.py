"""Settings for the catalogue test: makemessages writes into a temporary copy of the catalogue."""

import os
from pathlib import Path

from portal.settings_test import *  # noqa: F403

LOCALE_PATHS = [Path(os.environ["PORTAL_CATALOGUE_DIR"])]
