"""Where webhooks may go: URL rules at subscription time, address rules at send time, the
connection pinned to the checked address (no second DNS lookup to rebind), TLS verified."""

import ipaddress
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import pytest

from onboarding.errors import InvalidInput
from tests.waiting import holds
from tests.webhooks.receiver import Receiver
from webhooks import targets, transport
from webhooks.targets import TargetRefused, address_allowed, check_url, resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/in",
        "https://hooks.example.com:8443/in?token=abc&x=1",
        "http://93.184.216.34/",
        "http://[2606:4700:4700::1111]:8080/hook",
        "https://bücher.example/hook",
        "https://hooks.example.com.",
    ],
)
def test_check_url__public_http_urls__accepted(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    target = check_url(url)
    assert target.scheme in ("http", "https") and target.port > 0


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "invalid_webhook_url"),
        ("hooks.example.com/in", "invalid_webhook_url"),
        ("ftp://hooks.example.com/", "invalid_webhook_url"),
        ("javascript:alert(1)", "invalid_webhook_url"),
        ("file:///etc/passwd", "invalid_webhook_url"),
        ("https://user:pass@hooks.example.com/", "invalid_webhook_url"),
        ("https://hooks.example.com@evil.example/", "invalid_webhook_url"),
        ("https://hooks.example.com/#frag", "invalid_webhook_url"),
        ("https://hooks.example.com/ in", "invalid_webhook_url"),
        ("https://hooks.example.com/\x00", "invalid_webhook_url"),
        ("https://hooks.example.com/\n", "invalid_webhook_url"),
        ("https://hooks.exa\\mple.com/", "invalid_webhook_url"),
        ("https://%68ooks.example.com/", "invalid_webhook_url"),
        ("https://hooks.example.com:0/", "invalid_webhook_url"),
        ("https://hooks.example.com:99999/", "invalid_webhook_url"),
        ("https://hooks.example.com:-1/", "invalid_webhook_url"),
        ("https://" + "a" * 64 + ".example.com/", "invalid_webhook_url"),
        ("https://hooks..example.com/", "invalid_webhook_url"),
        ("https://h.example.com/" + "x" * 2048, "invalid_webhook_url"),
        ("https:///path-only", "invalid_webhook_url"),
        ("http://2130706433/", "invalid_webhook_url"),  # 127.0.0.1 as a number
        ("http://0x7f.0.0.1/", "invalid_webhook_url"),
        ("http://127.1/", "invalid_webhook_url"),
        ("http://127.0.0.1/", "webhook_url_forbidden"),
        ("http://10.1.2.3/", "webhook_url_forbidden"),
        ("http://172.16.0.1/", "webhook_url_forbidden"),
        ("http://192.168.1.1/", "webhook_url_forbidden"),
        ("http://100.64.0.1/", "webhook_url_forbidden"),  # carrier-grade NAT
        ("http://169.254.169.254/latest/meta-data/", "webhook_url_forbidden"),
        ("http://0.0.0.0/", "webhook_url_forbidden"),
        ("http://224.0.0.1/", "webhook_url_forbidden"),
        ("http://240.0.0.1/", "webhook_url_forbidden"),
        ("http://255.255.255.255/", "webhook_url_forbidden"),
        ("http://[::1]/", "webhook_url_forbidden"),
        ("http://[::]/", "webhook_url_forbidden"),
        ("http://[fe80::1]/", "webhook_url_forbidden"),
        ("http://[fc00::1]/", "webhook_url_forbidden"),
        ("http://[ff02::1]/", "webhook_url_forbidden"),
        ("http://[::ffff:127.0.0.1]/", "webhook_url_forbidden"),
        ("http://[::ffff:a9fe:a9fe]/", "webhook_url_forbidden"),  # mapped 169.254.169.254
        ("http://[64:ff9b::a00:1]/", "webhook_url_forbidden"),  # NAT64 of 10.0.0.1
        ("http://[2002:7f00:1::]/", "webhook_url_forbidden"),  # 6to4 of 127.0.0.1
        ("http://[2001:db8::1]/", "webhook_url_forbidden"),  # documentation
        ("http://localhost:8000/", "webhook_url_forbidden"),
        ("http://LOCALHOST/", "webhook_url_forbidden"),
        ("http://api.localhost/", "webhook_url_forbidden"),
        # Fully qualified (trailing dot) and /etc/hosts forms of this machine (issue 25, #5).
        ("http://localhost./", "webhook_url_forbidden"),
        ("http://foo.localhost./", "webhook_url_forbidden"),
        ("http://localhost.localdomain./", "webhook_url_forbidden"),
        ("http://localhost.localdomain/", "webhook_url_forbidden"),
        ("http://LocalHost.LocalDomain.:8080/x", "webhook_url_forbidden"),
        ("http://a.b.localhost/", "webhook_url_forbidden"),
        ("http://ip6-localhost/", "webhook_url_forbidden"),
        ("http://localhost6.localdomain6/", "webhook_url_forbidden"),
        ("http://localhost../", "invalid_webhook_url"),
        ("http://[fec0::1]/", "webhook_url_forbidden"),
        ("http://[fd12:3456::1]/", "webhook_url_forbidden"),
        ("http://198.18.0.1/", "webhook_url_forbidden"),
    ],
)
def test_check_url__bad_or_internal_url__refused_with_code(url, code, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(InvalidInput) as caught:
        check_url(url)
    assert caught.value.code == code
    assert caught.value.errors[0]["path"] == "/url"


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("http://[fec0::1]/", "site-local"),
        ("http://[fec0::ffff:1]:8080/", "site-local"),
        ("http://[fc00::1]/", "unique-local"),
        ("http://[fd12:3456::1]/", "unique-local"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[2001:db8::1]/", "documentation"),
        ("http://10.0.0.1/", "private"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
    ],
)
def test_check_url__refused_address__named_for_what_it_is_never_public(url, word, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(InvalidInput) as caught:
        check_url(url)
    message = caught.value.errors[0]["message"]
    assert word in message and "public" not in message, message
    assert "public" not in caught.value.detail


@pytest.mark.parametrize("value", [None, 5, ["https://a.example"], b"https://a.example"])
def test_check_url__not_a_string__invalid(value):
    with pytest.raises(InvalidInput) as caught:
        check_url(value)
    assert caught.value.code == "invalid_webhook_url"


def test_check_url__allow_private__loopback_accepted_but_url_rules_kept(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert check_url("http://127.0.0.1:9/x").host == "127.0.0.1"
    assert check_url("http://localhost:9/x").host == "localhost"
    with pytest.raises(InvalidInput):
        check_url("http://u:p@127.0.0.1/")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.255.255.255", False),
        ("169.254.0.1", False),
        ("224.0.0.251", False),
        ("::ffff:10.0.0.1", False),
        # Translated forms are refused outright, even of a public address: a receiver has no
        # reason to be reached through them.
        ("::ffff:8.8.8.8", False),
        ("64:ff9b::808:808", False),
        ("64:ff9b::7f00:1", False),
        ("2001::1", False),  # Teredo: embeds an address (and is not global)
        ("fec0::1", False),  # deprecated site-local
    ],
)
def test_address_allowed__by_range(address, allowed, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert address_allowed(ipaddress.ip_address(address)) is allowed


class FakeDNS:
    """getaddrinfo at the edge of the system: answers from a table, counts the lookups."""

    def __init__(self, table: dict[str, list[str]]):
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        try:  # a literal address needs no DNS (the HTTP client passes the pinned one through)
            ipaddress.ip_address(host)
            return self._answer([host], port)
        except ValueError:
            pass
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self._answer(self.table[host], port)

    @staticmethod
    def _answer(addresses: list[str], port: int) -> list:
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [
            (family[ipaddress.ip_address(ip).version], socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in addresses
        ]


def test_resolve__any_internal_answer__refused(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    dns = FakeDNS({"mixed.example.com": ["93.184.216.34", "10.0.0.7"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7"):
        resolve(check_url("https://mixed.example.com/"), timeout=1)


def test_resolve__unknown_name__refused(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", FakeDNS({}))
    with pytest.raises(TargetRefused, match="failed"):
        resolve(check_url("https://nowhere.example.com/"), timeout=1)


def test_send__name_rebinds_to_loopback__refused_before_any_byte(monkeypatch, settings):
    """The name passed the subscription check, then resolves to this machine at send time."""
    with Receiver() as receiver:
        settings.WEBHOOK_ALLOW_PRIVATE = False
        port = receiver.server.server_address[1]
        target = check_url(f"http://rebind.example.com:{port}/hooks")  # accepted: a public name
        dns = FakeDNS({"rebind.example.com": ["127.0.0.1"]})
        monkeypatch.setattr(socket, "getaddrinfo", dns)
        result = transport.post(target, b"{}", {})
        assert result.status_code is None and "refused" in result.error
        assert "127.0.0.1" in result.error and "loopback" in result.error
        assert receiver.requests == []


def test_send__connects_to_the_resolved_address_once__host_header_is_the_name(
    monkeypatch, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        dns = FakeDNS({"hooks.example.test": ["127.0.0.1"]})
        monkeypatch.setattr(socket, "getaddrinfo", dns)
        result = transport.post(
            check_url(f"http://hooks.example.test:{port}/in?x=1"), b'{"a":1}', {"webhook-id": "m"}
        )
        assert result.status_code == 200, result
        assert result.remote_ip == "127.0.0.1"
        assert dns.lookups == ["hooks.example.test"]  # one lookup: the one that was checked
        (request,) = receiver.requests
        assert request.headers["Host"] == f"hooks.example.test:{port}"
        assert request.path == "/in?x=1" and request.body == b'{"a":1}'


def _self_signed_server(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.test")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    receiver = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    return receiver


def test_send__https_with_an_untrusted_certificate__tls_error_nothing_delivered(
    monkeypatch, settings, tmp_path
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_CONNECT_TIMEOUT = 2
    with _self_signed_server(tmp_path) as receiver:
        port = receiver.server.server_address[1]
        monkeypatch.setattr(socket, "getaddrinfo", FakeDNS({"hooks.example.test": ["127.0.0.1"]}))
        result = transport.post(check_url(f"https://hooks.example.test:{port}/"), b"{}", {})
        assert result.status_code is None
        assert "TLS error" in result.error and "certificate" in result.error.lower()
        assert receiver.requests == []


def test_send__receiver_drips_its_answer__cut_at_the_deadline(settings):
    """A receiver that sends headers, then one byte at a time, cannot hold the worker."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_CONNECT_TIMEOUT = 0.3
    settings.WEBHOOK_READ_TIMEOUT = 0.5
    settings.WEBHOOK_ATTEMPT_TIMEOUT = 0.8
    stop = threading.Event()

    from http.server import BaseHTTPRequestHandler

    class Drip(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not stop.is_set():
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                stop.wait(0.2)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = transport.post(check_url(f"http://127.0.0.1:{port}/"), b"{}", {})
        assert result.status_code == 200
        # Cut at the deadline (0.8 s), not at the end of a body that never ends.
        assert result.duration_ms < 5000, result.duration_ms
        assert 0 < len(result.excerpt) < 100
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


class DripServer:
    """A raw TCP receiver: reads the request, sends `head`, then one byte of `drip` every
    `interval` seconds until the client goes away (or `stop`)."""

    def __init__(self, head: bytes, drip: bytes = b"x", interval: float = 0.2):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.head, self.drip, self.interval = head, drip, interval
        self.stop = threading.Event()
        self.closed_by_client = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(self.head)
                while not self.stop.wait(self.interval):
                    conn.sendall(self.drip)
            except OSError:
                self.closed_by_client.set()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def test_send__receiver_drips_its_status_headers__attempt_cut_at_the_deadline(settings):
    """Issue 25: `HTTP/1.1 200 OK\\r\\nX-Drip: ` then a byte every 2 s held an attempt for 200 s:
    each byte arrives within the read timeout, so only a deadline on the whole attempt ends it."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_READ_TIMEOUT = 5.0  # never reached: a byte comes every 0.2 s
    server = DripServer(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    try:
        result = transport.post(
            check_url(f"http://127.0.0.1:{server.port}/"), b"{}", {}, deadline=1.0
        )
        assert result.status_code is None and not result.succeeded, result
        assert result.error.startswith("deadline"), result.error
        # Cut at the deadline, not at a read timeout (5 s) or never; generous for a busy machine.
        assert 1000 <= result.duration_ms < 5000, result.duration_ms
        assert server.closed_by_client.wait(10)  # the connection really was cut
    finally:
        server.close()


def test_send__receiver_never_answers__attempt_cut_at_the_deadline(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_READ_TIMEOUT = 30.0
    server = DripServer(b"", drip=b"", interval=0.2)
    try:
        result = transport.post(
            check_url(f"http://127.0.0.1:{server.port}/"), b"{}", {}, deadline=0.5
        )
        assert result.status_code is None and result.error.startswith("deadline"), result
        assert result.duration_ms < 5000
    finally:
        server.close()


def test_deadline__socket_registered_after_expiry__shut_at_once():
    left, right = socket.socketpair()
    with left, right:
        limit = transport.Deadline(0.01)
        assert _wait_true(lambda: limit.expired)
        limit.watch(left)
        assert left.recv(1) == b""  # shut down: end of stream, no wait


def _wait_true(condition, timeout: float = 10.0) -> bool:
    return holds(condition, timeout=timeout, interval=0.01)


def test_resolver_pool__is_bounded():
    assert targets._resolver._max_workers == 4
