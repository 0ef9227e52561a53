"""The WSGI application gunicorn serves (`gunicorn portal.wsgi`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

# WeasyPrint (and Pango behind it) is imported where PDFs are drawn, so commands and tests start
# fast. A web process loads it now: with `gunicorn --preload` once, before the workers fork and
# share it, rather than in each worker's first PDF request (the soak measured 10 s for the
# first labels while every worker loaded it at once).
import weasyprint  # noqa: E402, F401
