"""WSGI entry point used by ``secdesk serve``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secdesk.settings")
application = get_wsgi_application()
