"""Watch a tenant's effective configuration from a separate process: the tool behind the
cross-process propagation tests and benchmark (`python -m runtime_config.watch TENANT_ID`).

The child reads lines `<want> <seconds>` on stdin, polls `get_effective_config` until it sees
`want` ("<domain pack version>/<tenant pack version>/<revision>", or an error code such as
`tenant_suspended`) or the time runs out, and answers one JSON line `{"seen", "at"}` with the
wall-clock time it saw it."""

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def observed(tenant_id: str, read: Callable[[str], Any]) -> str:
    try:
        config = read(tenant_id)
    except Exception as exc:  # the refusal is what the watcher reports
        return getattr(exc, "code", type(exc).__name__)
    return f"{config.domain_pack_version}/{config.tenant_pack_version}/{config.revision}"


def serve(tenant_id: str, read: Callable[[str], Any]) -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        want, deadline = line.split()
        until = time.monotonic() + float(deadline)
        seen = observed(tenant_id, read)
        while seen != want and time.monotonic() < until:
            time.sleep(0.001)
            seen = observed(tenant_id, read)
        print(json.dumps({"seen": seen, "at": time.time()}), flush=True)


class Watcher:
    """The parent side: start a watching process and ask it to wait for a state."""

    def __init__(self, tenant_id: str, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runtime_config.watch", tenant_id],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.close()
            raise RuntimeError(f"the watching process did not start: {line!r}")

    def wait_for(self, want: str, timeout: float) -> dict:
        self.process.stdin.write(f"{want} {timeout}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "Watcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    import django

    django.setup()
    # After setup, as Django requires of a module that imports models (the parent side above
    # imports nothing of Django, so that this file can start the child).
    from runtime_config.runtime import get_effective_config

    serve(sys.argv[1], get_effective_config)
