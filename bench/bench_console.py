"""Console page benchmark (issue 23): the detail page of a large pack (4 MB of canonical JSON by
default), rendered by the page view through Django's test client as a logged-in platform ADMIN,
its code view paged (onboarding.code_pages) against the baseline measured in the same run: the
same page with the whole document in one code view, as it was before paging (one page of
PAGE_CHARS = the whole text). Figures: the median time of a page and its HTML size. Targets:
< 500 KB and < 500 ms.

Inside `make bench` the bench database is migrated; alone, `python -m bench.bench_console`
recreates BENCH_DB (default bench_console) and migrates it. BENCH_CONSOLE_PACK_MB sets the pack
size (a tiny run: 0.5)."""

import copy
import json
import os
import statistics
import sys
import time

ROUNDS = 5
TARGET_BYTES = 500_000
TARGET_S = 0.5


def _pack(megabytes: float) -> dict:
    from bench.common import reference_pack

    content = copy.deepcopy(reference_pack("domain_capital_markets.json"))
    base = next(iter(content["exceptionTypes"].values()))
    size = 0
    index = 0
    while size < megabytes * 1024 * 1024:
        entry = {**base, "description": f"Generated exception type {index} " + "x" * 200}
        key = f"BENCH_TYPE_{index:06d}"
        content["exceptionTypes"][key] = entry
        size += len(json.dumps(entry, separators=(",", ":"))) + len(key) + 4
        index += 1
    return content


def _timed(get) -> tuple[float, int]:
    started = time.perf_counter()
    response = get()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed, len(response.content)


def run() -> list[dict]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    from onboarding import code_pages
    from packs.services import domain_pack_import
    from tenants.models import RoleBinding
    from tenants.principals import Principal

    megabytes = float(os.environ.get("BENCH_CONSOLE_PACK_MB", "4"))
    user, _ = get_user_model().objects.get_or_create(username="bench-console-admin")
    # A platform ADMIN, bound as the test fixtures bind one (the page reads as any ADMIN).
    RoleBinding.objects.get_or_create(user=user, role="ADMIN", tenant=None)
    limit = max(settings.PACK_MAX_BYTES, int(megabytes * 1024 * 1024 * 2))
    with override_settings(PACK_MAX_BYTES=limit, ALLOWED_HOSTS=["*"]):
        # One version per size: a second run finds the same content stored (an idempotent import).
        version = f"v99.{int(megabytes * 1000)}"
        pack = domain_pack_import(
            principal=Principal.system("bench"), content=_pack(megabytes), version=version
        ).pack
        client = Client()
        client.force_login(user)
        url = f"/admin/packs/domain/{pack.domain}/{pack.version}"

        def get():
            return client.get(url, HTTP_ACCEPT="text/html")

        get()  # warm: templates compiled, content cached
        paged = [_timed(get) for _ in range(ROUNDS)]
        # The baseline: one page as large as the document (the code view before paging).
        original = code_pages.code_page.__kwdefaults__["page_chars"]
        code_pages.code_page.__kwdefaults__["page_chars"] = pack.size_bytes * 4
        try:
            whole = [_timed(get) for _ in range(max(1, ROUNDS // 2))]
        finally:
            code_pages.code_page.__kwdefaults__["page_chars"] = original
    median = statistics.median(elapsed for elapsed, _ in paged)
    baseline = statistics.median(elapsed for elapsed, _ in whole)
    size, whole_size = paged[0][1], whole[0][1]
    label = f"pack page of a {pack.size_bytes / 1024 / 1024:.1f} MB pack"
    return [
        {
            "name": f"{label}: time, code view paged",
            "value": round(median, 3),
            "unit": "s",
            "baseline_name": "the same page with the whole document in one code view",
            "baseline": round(baseline, 3),
            "ratio": round(median / baseline, 3),
            "target": f"< {TARGET_S * 1000:g} ms",
            "pass": median < TARGET_S,
            "note": f"median of {ROUNDS} (baseline of {len(whole)}), test client, logged in",
        },
        {
            "name": f"{label}: HTML size, code view paged",
            "value": size,
            "unit": "bytes",
            "baseline_name": "the same page with the whole document in one code view",
            "baseline": whole_size,
            "ratio": round(size / whole_size, 3),
            "target": f"< {TARGET_BYTES:,} bytes",
            "pass": size < TARGET_BYTES,
        },
    ]


if __name__ == "__main__":
    from bench.common import recreate_database, setup_django

    url = recreate_database(os.environ.get("BENCH_DB", "bench_console"))
    setup_django(url, "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for row in run():
        print(row)
    sys.exit(0)
