"""ASGI entry point (served by uvicorn in `rmmbridge serve`)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
application = get_asgi_application()
