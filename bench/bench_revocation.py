"""Revocation and deactivation lag across two processes (issue 21, target p99 <= 100 ms).

A separate serving process (gunicorn, one sync worker, the service's own settings: push by
PostgreSQL LISTEN/NOTIFY, generation poll every RUNTIME_CONFIG_CHECK_INTERVAL) answers
`GET /runtime/tenants/{id}/config`. Per trial, this process:

1. creates, through the identity services, a runtime token (revocation) or a user with a VIEWER
   binding and a runtime token (deactivation);
2. warms the serving process until the token's principal is provably in its process cache: it
   answers 200, then, with the token marked revoked by a queryset update (no model signal, so
   no push), still answers 200; the mark is then taken back the same way;
3. revokes the token (`token_revoke`) or deactivates the user (`user_deactivate`) inside an outer
   transaction whose first on-commit callback notes the moment the commit returned;
4. polls the serving process with that token from a thread released by that callback (so
   polling starts right after the commit, while the service's own on-commit callbacks still
   run), one request after the other, until it answers 401 or 403. The lag is the time that
   refusal arrived minus the commit time (an upper bound: it includes the refusing request's
   round trip).

One untimed trial of each kind runs first (the listener thread of the serving process starts on
its first request). A trial not refused within DEADLINE_S counts as DEADLINE_S and fails the row.
Nothing waits on a fixed sleep: every wait is a condition with a timeout.

Inside `make bench` Django is set up on a fresh PostgreSQL database (DATABASE_URL). Alone:
`python -m bench.bench_revocation` creates and drops its own database. BENCH_REVOCATION_TRIALS
(default 100) trials of each kind."""

import os
import statistics
import threading
import time

TRIALS = int(os.environ.get("BENCH_REVOCATION_TRIALS", "100"))
TARGET_S = 0.1
DEADLINE_S = 5.0
WARM_TIMEOUT_S = 10.0
REFUSED = (401, 403)


def _tenant() -> str:
    """A tenant of its own with an active configuration (the runtime endpoint answers 200)."""
    from bench.bench_runtime import _prepare

    return _prepare()[0]


class _Trials:
    def __init__(self, base: str, tenant_id: str, suffix: str):
        from tenants.principals import Principal

        self.base, self.tenant_id, self.suffix = base, tenant_id, suffix
        self.url = f"/runtime/tenants/{tenant_id}/config"
        self.admin = Principal.system("bench-revocation")
        self.count = 0
        self.holder = self._user("holder")
        self.polls: list[int] = []
        self.round_trips: list[float] = []
        self.statuses: dict[int, int] = {}

    # --- set-up through the services ------------------------------------------------------------

    def _user(self, label: str) -> str:
        from identity.services import role_grant, user_create

        username = f"bench-revocation-{self.suffix}-{label}"
        user_create(actor=self.admin, username=username, service_account=True)
        role_grant(actor=self.admin, username=username, role="VIEWER", tenant_id=self.tenant_id)
        return username

    def _token(self, username: str):
        from identity.services import token_create

        self.count += 1
        return token_create(
            actor=self.admin,
            name=f"bench {self.count}",
            scope="runtime",
            tenant_ids=[self.tenant_id],
            username=username,
        )

    # --- the serving process ---------------------------------------------------------------------

    def _warm(self, client, token) -> None:
        """Until the serving process answers this token from its principal cache."""
        from django.utils import timezone

        from identity.models import ApiToken

        rows = ApiToken.objects.filter(pk=token.pk)
        deadline = time.monotonic() + WARM_TIMEOUT_S
        while time.monotonic() < deadline:
            status = client.get(self.url).status
            if status != 200:
                raise RuntimeError(f"the serving process answered {status} to a fresh token")
            rows.update(revoked_at=timezone.now())  # no signal: invisible to a cached principal
            try:
                cached = client.get(self.url).status == 200
            finally:
                rows.update(revoked_at=None)
            if cached:
                return
        raise RuntimeError(f"the token was not cached by the serving process in {WARM_TIMEOUT_S} s")

    def _lag(self, client, change) -> float:
        """Seconds from the commit of `change()` to the first refusal by the serving process.

        The poller is a thread released by the first on-commit callback: it starts the moment
        the commit has returned, while this thread still runs the service's own callbacks."""
        from django.db import transaction

        committed: list[float] = []
        go = threading.Event()
        outcome: dict = {}

        def on_commit() -> None:
            committed.append(time.perf_counter())
            go.set()

        def poller() -> None:
            go.wait()
            if committed:  # else the change raised: nothing to poll for
                try:
                    outcome["lag"] = self._poll(client, committed[0])
                except Exception as exc:
                    outcome["error"] = exc

        thread = threading.Thread(target=poller, name="bench-revocation-poller", daemon=True)
        thread.start()
        try:
            with transaction.atomic():
                # The service's own transaction becomes a savepoint of this one; this callback
                # runs first once the commit has returned, before the service's own callbacks.
                transaction.on_commit(on_commit)
                change()
        finally:
            go.set()
            thread.join(DEADLINE_S + 30)
        if "error" in outcome:
            raise outcome["error"]
        if "lag" not in outcome:
            raise RuntimeError("the poller did not finish")
        return outcome["lag"]

    def _poll(self, client, committed: float) -> float:
        polls = 0
        while True:
            sent = time.perf_counter()
            status = client.get(self.url).status
            now = time.perf_counter()
            polls += 1
            self.round_trips.append(now - sent)
            if status in REFUSED:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.polls.append(polls)
                return now - committed
            if status != 200:
                raise RuntimeError(f"the serving process answered {status} while polling")
            if now - committed >= DEADLINE_S:
                self.polls.append(polls)
                return DEADLINE_S

    def revocation(self, client) -> float:
        from identity.services import token_revoke

        token, secret = self._token(self.holder)
        client.token = secret
        self._warm(client, token)
        return self._lag(client, lambda: token_revoke(actor=self.admin, token_id=token.pk))

    def deactivation(self, client) -> float:
        from identity.services import user_deactivate

        username = self._user(f"user-{self.count}")
        token, secret = self._token(username)
        client.token = secret
        self._warm(client, token)
        return self._lag(client, lambda: user_deactivate(actor=self.admin, username=username))


def _row(name: str, lags: list[float], note: str) -> dict:
    from bench.common import percentile

    misses = sum(1 for lag in lags if lag >= DEADLINE_S)
    p50, p99, worst = statistics.median(lags), percentile(lags, 0.99), max(lags)
    return {
        "group": "identity",
        "name": name,
        "value": round(p50 * 1000, 1),
        "unit": "ms",
        "p50": round(p50 * 1000, 1),
        "p99": round(p99 * 1000, 1),
        "target": f"p99 ≤ {TARGET_S * 1000:g} ms",
        "pass": p99 <= TARGET_S and not misses,
        "note": f"{len(lags)} trials; p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max "
        f"{worst * 1000:.1f} ms; from the commit (first on-commit callback) to the first 401/403 "
        "of another gunicorn process that had the token's principal in its cache; "
        + note
        + (f"; {misses} not refused within {DEADLINE_S:g} s" if misses else ""),
    }


def run() -> list[dict]:
    import secrets

    from django.conf import settings

    from bench.common import Client, Gunicorn, service_env
    from runtime_config import push

    channel = {"postgres": "PostgreSQL LISTEN/NOTIFY", "redis": "Redis pub/sub"}.get(
        push.mode(), "generation poll only"
    )
    tenant_id = _tenant()
    env = service_env(os.environ["DATABASE_URL"], "bench.settings", RUNTIME_LISTENER="true")
    measured = []
    with Gunicorn(env, workers=1) as server:
        trials = _Trials(server.base, tenant_id, secrets.token_hex(3))
        client = Client(server.base)
        try:
            trials.revocation(client)  # untimed: the serving process starts its listener
            trials.deactivation(client)
            for kind in (trials.revocation, trials.deactivation):
                trials.polls, trials.round_trips, trials.statuses = [], [], {}
                lags = [kind(client) for _ in range(TRIALS)]
                note = (
                    f"push by {channel}, generation poll every "
                    f"{settings.RUNTIME_CONFIG_CHECK_INTERVAL:g} s, principal cache TTL "
                    f"{settings.RUNTIME_CONFIG_TTL:g} s; the poller sent "
                    f"{statistics.median(trials.polls):.0f} requests per trial (median, max "
                    f"{max(trials.polls)}), one round trip "
                    f"{statistics.median(trials.round_trips) * 1000:.2f} ms (median); refusals "
                    + ", ".join(f"{n} x {status}" for status, n in sorted(trials.statuses.items()))
                )
                measured.append((lags, note))
        finally:
            client.close()
    (revoked, revoked_note), (deactivated, deactivated_note) = measured
    return [
        _row(
            f"token revocation to refusal by another serving process ({TRIALS} tokens)",
            revoked,
            revoked_note,
        ),
        _row(
            f"user deactivation to refusal of its token by another serving process "
            f"({TRIALS} users)",
            deactivated,
            deactivated_note,
        ),
    ]


def main() -> int:
    from bench.common import drop_database, recreate_database, setup_django

    name = "bench_revocation_tiny"
    url = recreate_database(name)
    setup_django(url, "bench.settings")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        rows = run()
        for row in rows:
            print(f"{row['name']}: {'PASS' if row['pass'] else 'FAIL'} ({row['target']})")
            print(f"  {row['note']}")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(name)
    return 0 if all(row["pass"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
