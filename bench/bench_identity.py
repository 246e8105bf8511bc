"""Token verification cost (issue 21): hashed, scoped, expiring tokens against DRF's plaintext
keys, in the same run.

- baseline: DRF's TokenAuthentication on a plaintext key (one query: token joined to its user);
- hashed: identity's HashedTokenAuthentication (SHA-256 of the secret, one query for token, user
  and role bindings, expiry and scope checks);
- runtime cache hit: the runtime's TokenWithRolesAuthentication with its process cache on (no
  query: the figure the runtime fast path pays per request).

`python -m bench.bench_identity` runs it alone against a scratch PostgreSQL database
(BENCH_IDENTITY_ROUNDS, default 2000 authentications per figure)."""

import os
import statistics
import time

ROUNDS = int(os.environ.get("BENCH_IDENTITY_ROUNDS", "2000"))
PATH = "/runtime/tenants/BENCH_IDENTITY_T/config"


def _per_call_us(call, rounds: int) -> list[float]:
    """Median of 5 batches, each timing `rounds // 5` calls: microseconds per call."""
    batch = max(rounds // 5, 1)
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - started) / batch * 1e6)
    return samples


def run() -> list[dict]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.authtoken.models import Token
    from rest_framework.request import Request

    from identity.services import token_mint
    from identity.tokens import HashedTokenAuthentication
    from runtime_config import cache as runtime_cache
    from runtime_config.runtime_api import TokenWithRolesAuthentication
    from tenants.models import RoleBinding, Tenant

    tenant, _ = Tenant.objects.get_or_create(
        tenant_id="BENCH_IDENTITY_T", defaults={"name": "bench", "created_by": "bench"}
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-identity")
    RoleBinding.objects.get_or_create(user=user, tenant=tenant, defaults={"role": "VIEWER"})
    legacy = Token.objects.create(user=user)
    _, secret = token_mint(
        user=user, name="bench", scope="runtime", tenant_ids=[tenant.pk], created_by="bench"
    )
    factory = RequestFactory()

    def request(key: str) -> Request:
        return Request(factory.get(PATH, HTTP_AUTHORIZATION=f"Token {key}"))

    plain, hashed = TokenAuthentication(), HashedTokenAuthentication()
    cached = TokenWithRolesAuthentication()
    saved_ttl = settings.RUNTIME_CONFIG_TTL
    try:
        baseline = _per_call_us(lambda: plain.authenticate(request(legacy.key)), ROUNDS)
        hashed_us = _per_call_us(lambda: hashed.authenticate(request(secret)), ROUNDS)
        settings.RUNTIME_CONFIG_TTL = 300.0
        runtime_cache.principal_lookup(secret)
        cached.authenticate(request(secret))  # warm the process cache
        cached_us = _per_call_us(lambda: cached.authenticate(request(secret)), ROUNDS)
    finally:
        settings.RUNTIME_CONFIG_TTL = saved_ttl
        legacy.delete()
    base = statistics.median(baseline)
    rows = []
    for name, samples, target, passed in (
        (
            "hashed token authentication (SHA-256 lookup with roles, expiry, scope)",
            hashed_us,
            "≤ 2.0x the plaintext DRF lookup",
            lambda ratio: ratio <= 2.0,
        ),
        (
            "runtime token authentication, process cache hit (no query)",
            cached_us,
            "≤ 1.0x the plaintext DRF lookup",
            lambda ratio: ratio <= 1.0,
        ),
    ):
        value = statistics.median(samples)
        ratio = value / base
        rows.append(
            {
                "name": name,
                "value": round(value, 1),
                "unit": "µs",
                "baseline_name": "DRF TokenAuthentication, plaintext key (one query)",
                "baseline": round(base, 1),
                "ratio": round(ratio, 2),
                "target": target,
                "pass": passed(ratio),
                "note": f"{ROUNDS} authentications per figure, median of 5 batches",
            }
        )
    return rows


def main() -> int:
    from bench.common import drop_database, recreate_database, setup_django

    name = "bench_identity_tiny"
    url = recreate_database(name)
    setup_django(url, "bench.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        for row in run():
            print(
                f"{row['name']}: {row['value']} µs vs {row['baseline']} µs "
                f"(ratio {row['ratio']}x, target {row['target']}, "
                f"{'PASS' if row['pass'] else 'FAIL'})"
            )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
