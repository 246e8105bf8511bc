"""Plumbing shared by the bench, fuzz and soak entry points: throwaway PostgreSQL databases,
gunicorn on a free loopback port, tokens, and a small keep-alive JSON client."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
LOOPBACK = "127.0.0.1"


def pg_url(dbname: str) -> str:
    return f"{PG_SERVER_URL}/{dbname}"


def recreate_database(name: str) -> str:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_env(database_url: str, settings: str = "onboarding.settings", **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE=settings,
        SECRET_KEY=env.get("SECRET_KEY") or "bench-only-secret-key-not-for-production",
        AUDIT_HMAC_KEY=env.get("AUDIT_HMAC_KEY") or "bench-only-audit-chain-key-not-for-production",
        DEBUG="false",
        LOG_LEVEL=env.get("BENCH_LOG_LEVEL", "WARNING"),
        PYTHONPATH=str(ROOT),
    )
    env.pop("CACHE_URL", None)
    # Load generators are one principal on one address: the per-principal rate limits of the
    # expensive endpoints would measure the limiter's refusals, not the endpoints.
    for scope in ("PACK_VALIDATE", "PACK_IMPORT", "EVALUATE", "IMPACT", "LOGIN"):
        env.setdefault(f"RATE_LIMIT_{scope}", "off")
    env.update({key: str(value) for key, value in extra.items()})
    return env


def setup_django(database_url: str, settings: str = "bench.settings") -> None:
    """Configure Django in this process against `database_url` (call once, before any import
    of models)."""
    os.environ.update(service_env(database_url, settings))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if check and done.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done


def issue_token(env: dict, username: str, role: str, tenant: str | None = None) -> str:
    args = ["issue_token", username, "--role", role]
    if tenant:
        args += ["--tenant", tenant]
    return manage(env, *args).stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces; fields after the closing parenthesis are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


class Gunicorn:
    """gunicorn with N sync workers on a free loopback port; a context manager."""

    def __init__(
        self,
        env: dict,
        *,
        workers: int = 2,
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
        app: str = "onboarding.wsgi:application",
        cwd: Path = ROOT,
        ready_path: str = "/healthz",
        nice: int = 0,
    ):
        self.app, self.cwd, self.ready_path = app, cwd, ready_path
        self.nice = nice
        self.env = env
        self.extra_args = extra_args
        self.workers = workers
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                *(("nice", "-n", str(self.nice)) if self.nice else ()),
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(self.workers),
                "--bind",
                f"{LOOPBACK}:{self.port}",
                "--graceful-timeout",
                "5",
                "--timeout",
                "60",
                *self.extra_args,
                self.app,
            ],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=log,
        )
        wait_for_http(self.base + self.ready_path, timeout=60, proc=self.proc)
        return self

    def worker_pids(self) -> list[int]:
        return child_pids(self.proc.pid) if self.proc else []

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class RunServer(Gunicorn):
    """Django's development server (single process, threaded): used where a stack trace in the
    server log helps more than throughput."""

    def __enter__(self) -> "RunServer":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "runserver",
                "--noreload",
                f"{LOOPBACK}:{self.port}",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        wait_for_http(self.base + "/healthz", timeout=60, proc=self.proc)
        return self


def wait_for_http(url: str, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


class Response:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class Client:
    """A keep-alive JSON client for one loopback server; reconnects after any socket error."""

    def __init__(self, base: str, token: str | None = None, timeout: float = 30.0):
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.token = token
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> Response:
        all_headers = {"Accept": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Token {self.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=all_headers)
            raw = self.conn.getresponse()
            payload = raw.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if raw.getheader("Connection", "").lower() == "close":
            self.close()
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, payload)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw) -> Response:
        return self.request("POST", path, body=body, **kw)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# The trivial single-file Django + DRF app every runtime HTTP figure is compared with (issue 18):
# served by the same gunicorn settings, loaded in the same run, alternating.
# `../shared` beside the repository (a git worktree sits one level deeper).
BASELINE_APP = Path(
    os.environ.get("BENCH_BASELINE_APP")
    or next(
        (
            candidate
            for candidate in (
                ROOT.parent / "shared" / "bench" / "baseline_wsgi.py",
                ROOT.parent.parent / "shared" / "bench" / "baseline_wsgi.py",
            )
            if candidate.is_file()
        ),
        ROOT.parent / "shared" / "bench" / "baseline_wsgi.py",
    )
)


def baseline_server(env: dict, *, workers: int = 2) -> "Gunicorn":
    """gunicorn serving BASELINE_APP (GET /trivial) from its own folder."""
    if not BASELINE_APP.is_file():
        raise RuntimeError(f"baseline app {BASELINE_APP} not found (set BENCH_BASELINE_APP)")
    return Gunicorn(
        env,
        workers=workers,
        app=f"{BASELINE_APP.stem}:application",
        cwd=BASELINE_APP.parent,
        ready_path="/trivial",
    )


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def reference_pack(name: str) -> dict:
    return json.loads((ROOT / "tests" / "data" / "reference" / name).read_text(encoding="utf-8"))
