import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
application = get_wsgi_application()

from onboarding.middleware import ChunkedInput  # noqa: E402 (needs the settings above)

application = ChunkedInput(application)

# The application loaded above lives as long as the process: out of the garbage collector's
# sight, a full collection costs milliseconds instead of ~100 ms, a pause that otherwise lands
# between a commit and its Redis publish (docs/performance.md). Before gunicorn forks, this also
# keeps the workers' shared pages from being copied by the collector's writes.
gc.freeze()
