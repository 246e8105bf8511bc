"""A real OpenID provider for the SSO tests: Node's certified `oidc-provider` package, run by
tests/sso/provider/provider.mjs on a free port (its packages installed with `npm ci` from the
committed lock file when missing), waited for on its discovery URL, stopped after the tests.

Accounts: alice (group ops-admins → ADMIN), carol (group ops → VIEWER), bob (no group)."""

import json
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.waiting import wait_until

PROVIDER_DIR = Path(__file__).parent / "provider"
CLIENT_ID = "onboarding-tests"
CLIENT_SECRET = "test-client-secret-not-for-production"
GROUP_ROLES = {"ops-admins": "ADMIN", "ops": "VIEWER"}
ACCOUNTS = {
    "alice": {"password": "alice-pw", "email": "alice@example.test", "groups": ["ops-admins"]},
    "carol": {"password": "carol-pw", "email": "carol@example.test", "groups": ["ops", "misc"]},
    "bob": {"password": "bob-pw", "email": "bob@example.test", "groups": ["unmapped"]},
}
TEST_CLIENT_BASE = "http://testserver"


@dataclass
class OpenIdProvider:
    issuer: str
    process: subprocess.Popen
    log: Path

    def configure(self, settings) -> None:
        settings.OIDC_ISSUER = self.issuer
        settings.OIDC_CLIENT_ID = CLIENT_ID
        settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_GROUP_ROLES = dict(GROUP_ROLES)
        settings.OIDC_GROUPS_CLAIM = "groups"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _install_provider_packages() -> None:
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install the test OpenID provider (tests/sso/provider)")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=600
    )


def _wait_for_discovery(provider: OpenIdProvider, timeout: float = 30.0) -> None:
    url = f"{provider.issuer}/.well-known/openid-configuration"

    def discovery_answers() -> bool:
        if provider.process.poll() is not None:
            pytest.fail(f"the test OpenID provider exited: {provider.log.read_text()}")
        try:
            return requests.get(url, timeout=1).ok
        except requests.ConnectionError:
            return False

    wait_until(discovery_answers, timeout=timeout, interval=0.05, message=f"discovery at {url}")


def start_provider(
    tmp_dir: Path, redirect_bases: list[str], *, logout: bool = True
) -> OpenIdProvider:
    _install_provider_packages()
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the test OpenID provider")
    port = _free_port()
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{base}/oidc/callback" for base in redirect_bases],
        "post_logout_redirect_uris": [f"{base}/login" for base in redirect_bases],
    }
    env = {
        **os.environ,
        "OP_PORT": str(port),
        "OP_CLIENT": json.dumps(client),
        "OP_ACCOUNTS": json.dumps(ACCOUNTS),
        "OP_LOGOUT": "on" if logout else "off",
    }
    log = tmp_dir / f"oidc-provider-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [node, "provider.mjs"], cwd=PROVIDER_DIR, env=env, stdout=out, stderr=out
        )
    provider = OpenIdProvider(issuer=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        _wait_for_discovery(provider)
    except BaseException:
        stop_provider(provider)
        raise
    return provider


def stop_provider(provider: OpenIdProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """The provider for tests that drive Django's test client (redirects to testserver)."""
    provider = start_provider(tmp_path_factory.mktemp("oidc"), [TEST_CLIENT_BASE])
    yield provider
    stop_provider(provider)


@pytest.fixture
def sso_settings(oidc_provider, settings):
    oidc_provider.configure(settings)
    return settings


# --- driving the provider's pages over HTTP (the test-client tests) -----------------------------

_UID = re.compile(r"/interaction/([^/?#]+)")


class ProviderBrowser:
    """What a person's browser does at the provider, over plain HTTP: follow its redirects, fill
    in its login form, allow the consent, and stop at the redirect back to the application."""

    def __init__(self, stop_at: str = TEST_CLIENT_BASE):
        self.http = requests.Session()
        self.stop_at = stop_at

    def _follow(self, response) -> str:
        for _ in range(20):
            if response.status_code not in (302, 303):
                raise AssertionError(f"provider answered {response.status_code}: {response.text}")
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(self.stop_at):
                return location
            match = _UID.search(urlsplit(location).path)
            if match:
                return location
            response = self.http.get(location, allow_redirects=False, timeout=10)
        raise AssertionError("too many redirects at the provider")

    def sign_in(
        self, authorize_url: str, username: str, password: str, *, cancel: bool = False
    ) -> str:
        """The callback URL the provider sends the browser back to."""
        location = self._follow(self.http.get(authorize_url, allow_redirects=False, timeout=10))
        for _ in range(3):
            if location.startswith(self.stop_at):
                return location
            uid = _UID.search(urlsplit(location).path).group(1)
            page = self.http.get(location, timeout=10).text
            base = location.split("/interaction/")[0]
            if cancel:
                action, data = "abort", {}
            elif 'id="op-sign-in"' in page:
                action, data = "login", {"login": username, "password": password}
            else:
                action, data = "consent", {}
            response = self.http.post(
                f"{base}/interaction/{uid}/{action}", data=data, allow_redirects=False, timeout=10
            )
            location = self._follow(response)
        raise AssertionError("the provider kept asking")


def callback_path(url: str) -> str:
    """The callback URL as the test client requests it (path and query)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
