"""The one redaction rule (onboarding.redaction): URLs, headers, JSON details, free text, logs."""

import logging

import pytest

from onboarding.redaction import (
    REDACTED,
    RedactingFilter,
    is_secret_name,
    redact,
    redact_headers,
    redact_text,
    redact_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.example.com/in", "https://hooks.example.com/in"),
        ("https://h.example/in?token=abc123", "https://h.example/in?token=***"),
        ("https://h.example/in?a=1&b=&c", "https://h.example/in?a=***&b=&c"),
        ("https://u:p@h.example:8443/x", "https://***@h.example:8443/x"),
        ("https://user@h.example/x", "https://***@h.example/x"),
        (
            "https://h.example/cb#access_token=xyz&state=1",
            "https://h.example/cb#access_token=***&state=***",
        ),
        ("https://h.example/in?0123456789abcdef", "https://h.example/in?***"),
        (
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX1",
            "https://hooks.slack.com/services/T00000000/B00000000/***",
        ),
        (
            "https://h.example/hooks/3f2c9a1e-7b4d-4e7a-9c1b-2d3e4f5a6b7c",
            "https://h.example/hooks/***",
        ),
        ("https://h.example/a;b?x=1;y=2", "https://h.example/a;b?x=***;y=***"),
        ("http://[::1]:99999/x?token=1", "http://[::1]:99999/x?***"),
    ],
)
def test_redact_url__credentials__hidden_shape_kept(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("POST https://h.example/in?token=s3cr3t failed", "s3cr3t", "https://h.example/in"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig123", "eyJhbGciOi", "Authorization"),
        ("header Token 0123456789abcdef0123", "0123456789abcdef0123", "header Token"),
        ("password=hunter2 user=bob", "hunter2", "user=bob"),
        ('{"client_secret": "abc-def-ghi"}', "abc-def-ghi", "client_secret"),
        ("db_password: 'x y z'", "x y z", "db_password"),
        ("X-Api-Key=k3y-value", "k3y-value", "X-Api-Key"),
        ("key whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo", "whsec_"),
    ],
)
def test_redact_text__credential_in_free_text__hidden(text, hidden, kept):
    out = redact_text(text)
    assert hidden not in out and kept in out and REDACTED in out


@pytest.mark.parametrize(
    "text",
    [
        "Token verification failed",
        "Webhook #3 created for tenant TENANT_A",
        "Signing secrets rotated: 3 webhooks",
        "checksum 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "",
    ],
)
def test_redact_text__no_credential__unchanged(text):
    assert redact_text(text) == text


def test_redact__nested_details__secret_keys_and_urls_hidden_structure_kept():
    details = {
        "after": {"id": 3, "url": "https://h.example/in?token=abc", "active": True},
        "headers": {"Authorization": "Token abc", "Accept": "*/*"},
        "credentials": {"username": "bob", "password": "pw"},
        "api_key": 12345,
        "token": None,
        "list": ["https://u:p@h.example/", 5, None],
        "token_id": 7,
    }
    assert redact(details) == {
        "after": {"id": 3, "url": "https://h.example/in?token=***", "active": True},
        "headers": {"Authorization": "***", "Accept": "*/*"},
        "credentials": {"username": "bob", "password": "***"},
        "api_key": "***",
        "token": None,
        "list": ["https://***@h.example/", 5, None],
        "token_id": 7,
    }
    assert details["after"]["url"].endswith("abc")  # a copy: the input is untouched


def test_redact_headers__credential_headers__hidden():
    headers = {
        "Authorization": "Basic dXNlcjpwYXNz",
        "Cookie": "sessionid=abc",
        "X-Auth-Token": "t",
        "Proxy-Authorization": "x",
        "Content-Type": "application/json",
        "Referer": "https://h.example/?token=abc",
    }
    assert redact_headers(headers) == {
        "Authorization": REDACTED,
        "Cookie": REDACTED,
        "X-Auth-Token": REDACTED,
        "Proxy-Authorization": REDACTED,
        "Content-Type": "application/json",
        "Referer": "https://h.example/?token=***",
    }


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("set-cookie", True),
        ("client_secret", True),
        ("X-API-KEY", True),
        ("refresh_token", True),
        ("token_id", False),
        ("checksum", False),
        ("webhook-id", False),
        (5, False),
    ],
)
def test_is_secret_name(name, secret):
    assert is_secret_name(name) is secret


def test_redacting_filter__message_args_and_traceback__redacted(caplog):
    logger = logging.getLogger("tests.redaction")
    record_filter = RedactingFilter()
    handler = caplog.handler
    handler.addFilter(record_filter)
    try:
        logger.warning("sending to %s", "https://h.example/in?token=abc123")
        try:
            raise ValueError("refused https://u:pw@h.example/")
        except ValueError:
            logger.exception("failed with password=hunter2")
    finally:
        handler.removeFilter(record_filter)
    text = caplog.text
    assert "abc123" not in text and "hunter2" not in text and "u:pw" not in text
    assert "https://h.example/in?token=***" in text and "ValueError" in text


def test_logging_settings__console_handler__redacts():
    from django.conf import settings

    console = settings.LOGGING["handlers"]["console"]
    assert "redact" in console["filters"]
    assert settings.LOGGING["filters"]["redact"]["()"] == "onboarding.redaction.RedactingFilter"
