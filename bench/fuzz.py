"""`make fuzz`: schemathesis against /api/schema/ of a live server, as a platform ADMIN and as a
platform VIEWER. Every operation, a bounded number of examples each. Checks: no server error,
responses conform to the documented schema, status codes are documented. Exit 1 on any failure
or on any traceback in the server log.

    python -m bench.fuzz [--examples N] [--sqlite] [--seed S] [--keep]

FUZZ_CHECKS overrides the comma-separated schemathesis checks (default: the three above).
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Gunicorn, drop_database, manage, recreate_database, service_env

CHECKS = os.environ.get(
    "FUZZ_CHECKS", "not_a_server_error,status_code_conformance,response_schema_conformance"
)
TENANT = "TENANT_FUZZ"


def postgres_available() -> bool:
    try:
        import psycopg

        from bench.common import pg_url

        with psycopg.connect(pg_url("postgres"), connect_timeout=3):
            return True
    except Exception:
        return False


CONFIG = """
# Seeded identifiers: most generated requests reach real rows instead of a 404.
[dictionaries.tenants]
values = ["{tenant}"]
[dictionaries.domains]
values = ["{domain}"]
[dictionaries.versions]
values = ["1.0.0", "v1.0"]

[parameters]
"path.tenant_id" = {{ dictionary = "tenants", probability = 0.8 }}
"path.domain" = {{ dictionary = "domains", probability = 0.8 }}
"path.version" = {{ dictionary = "versions", probability = 0.7 }}
"query.tenant_id" = {{ dictionary = "tenants", probability = 0.5 }}
"query.domain" = {{ dictionary = "domains", probability = 0.5 }}
"body.tenant_id" = {{ dictionary = "tenants", probability = 0.5 }}
"body.domain" = {{ dictionary = "domains", probability = 0.5 }}
"""


def schemathesis(
    base: str, token: str, *, examples: int, seed: int, report: Path, config: Path
) -> tuple:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{base}/api/schema/",
        "--url",
        base,
        "-H",
        f"Authorization: Token {token}",
        "-H",
        "Accept: application/json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        str(seed),
        # One worker: hypothesis's lambda introspection is not thread-safe (a "Runtime Error:
        # AST constructor recursion depth mismatch" with two workers, a tool error, not ours).
        "--workers",
        "1",
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
            check=False,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "bench.fuzz_hooks"},
        )
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = f"{exc.stdout or ''}\nschemathesis timed out", 124
    return code, output, time.monotonic() - started


def server_errors(log_path: Path) -> list[str]:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    errors = []
    for match in re.finditer(r"ERROR [^\n]*(Internal Server Error[^\n]*)", text):
        errors.append(match.group(1))
    if "Traceback" in text and not errors:
        errors.append("traceback in server log (see the log)")
    return errors


def _summary_lines(output: str) -> list[str]:
    """The failing operations with their reproduction, and schemathesis's own tally."""
    wanted = re.compile(
        r"(^_{3,} \S|Received:|Documented:|curl |is not |violates|Server error|"
        r"passed|failed|errored|Failures:|Errors:|Runtime Error|Test cases|generated,|Seed:)"
    )
    return [line.rstrip()[:240] for line in output.splitlines() if wanted.search(line)][-80:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--sqlite", action="store_true", help="fuzz a SQLite database")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1, 2**31)

    workdir = Path(tempfile.mkdtemp(prefix="fuzz_"))
    db_name = "fuzz_onboarding"
    use_pg = not args.sqlite and postgres_available()
    if use_pg:
        env = service_env(recreate_database(db_name))
    else:
        env = service_env("", SQLITE_PATH=str(workdir / "fuzz.sqlite3"))
        env.pop("DATABASE_URL")
    print(
        f"fuzz: {'PostgreSQL ' + db_name if use_pg else 'SQLite'}, examples {args.examples}, "
        f"seed {seed}, logs in {workdir}",
        flush=True,
    )
    manage(env, "migrate", "--noinput")
    seeded = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.seed", TENANT],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    print(f"fuzz: seeded {', '.join(seeded['steps']) or 'tenant only'}", flush=True)

    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG.format(tenant=TENANT, domain=seeded["domain"]))
    results = {}
    log_path = workdir / "server.log"
    # gunicorn's own request-line limit (414) is the proxy's business, not the API's: lift it so
    # every generated URL reaches the application under test.
    with Gunicorn(
        env, workers=2, log_path=log_path, extra_args=("--limit-request-line", "0")
    ) as server:
        for role, user in (("ADMIN", "fuzz-admin"), ("VIEWER", "fuzz-viewer")):
            code, output, seconds = schemathesis(
                server.base,
                seeded["tokens"][user],
                examples=args.examples,
                seed=seed,
                report=workdir / f"junit-{role}.xml",
                config=config,
            )
            (workdir / f"schemathesis-{role}.txt").write_text(output)
            results[role] = (code, seconds, output)
            print(f"\n== {role}: exit {code} in {seconds:.0f} s", flush=True)
            print("\n".join(_summary_lines(output)), flush=True)

    errors = server_errors(log_path)
    failed = [role for role, (code, _, _) in results.items() if code != 0]
    print("\n== fuzz summary")
    for role, (code, seconds, _) in results.items():
        print(f"  {role:6s} exit {code} ({seconds:.0f} s)")
    print(f"  server errors logged: {len(errors)}")
    for line in errors[:20]:
        print(f"    {line}")
    print(
        f"  reproduce: python -m bench.fuzz --examples {args.examples} --seed {seed}"
        f"{' --sqlite' if not use_pg else ''}; full output in {workdir}"
    )
    if use_pg and not args.keep:
        drop_database(db_name)
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
