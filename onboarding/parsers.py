from django.conf import settings
from rest_framework.parsers import BaseParser

from onboarding.intake import load_json_bytes


class StrictJSONParser(BaseParser):
    """DRF's JSON parser replaced by the strict intake: duplicate keys, NaN, bad strings and deep
    nesting are refused with their own codes before any view sees the body."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read() if stream is not None else b""
        # The body may hold a pack of PACK_MAX_BYTES plus the request fields around it; the
        # import service checks the size of the pack itself.
        return load_json_bytes(data, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
