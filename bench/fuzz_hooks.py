"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS): request bodies in the
media types schemathesis cannot write itself."""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def json_lines(ctx, value):
    # The schema describes one line; a generated list is several. Non-JSON values (NaN, huge
    # numbers) are written as Python spells them: the service must refuse those lines anyway.
    items = value if isinstance(value, list) else [value]
    lines = [item if isinstance(item, str) else json.dumps(item, default=str) for item in items]
    return "\n".join(lines).encode("utf-8", "surrogatepass")
