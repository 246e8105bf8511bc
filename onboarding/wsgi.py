import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
application = get_wsgi_application()

from onboarding.middleware import ChunkedInput  # noqa: E402 (needs the settings above)

application = ChunkedInput(application)
