"""The HTTP channels' URL policy, applied when the tenant file is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.notifications.adapters.http_channels import UrlRefused, bounded, check_url
from services.notifications.adapters.tenant_config import TenantBook
from services.notifications.settings import SEED_DIR


def write(tmp_path: Path, tenant: dict) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": {"default": tenant}}))
    return path


@pytest.mark.parametrize(
    ("tenant", "reason"),
    [
        (
            {"webhooks": [{"id": "crm", "url": "file:///etc/passwd", "secret": "s"}]},
            "tenant 'default': webhook 'crm' url is refused: scheme 'file' is not allowed: https only",
        ),
        (
            {"sms": {"url": "http://169.254.169.254/latest/meta-data/", "token": "t"}},
            "tenant 'default': sms url is refused: host '169.254.169.254' is a link-local/metadata address",
        ),
        (
            {"chat": {"webhook_url": "https://metadata.google.internal/x"}},
            "chat webhook_url is refused: host 'metadata.google.internal' is a cloud metadata service",
        ),
        ({"chat": {"webhook_url": "https://0.0.0.0/x"}}, "is an unspecified address"),
        ({"sms": {"url": "https://u:p@sms.example/send"}}, "credentials in the URL"),
        ({"sms": {"url": "http://sms.example/send"}}, "plain http is allowed only to a loopback host"),
    ],
)
def test_a_tenant_file_with_an_unsafe_url_is_refused_with_the_reason(
    tmp_path: Path, tenant: dict, reason: str
) -> None:
    path = write(tmp_path, tenant)
    with pytest.raises(ValueError) as refused:
        TenantBook.load(path)
    assert reason in str(refused.value)
    assert str(path) in str(refused.value)


def test_safe_urls_and_the_seed_file_load(tmp_path: Path) -> None:
    book = TenantBook.load(
        write(
            tmp_path,
            {
                "webhooks": [{"id": "crm", "url": "https://crm.example/hook?x=1", "secret": "s"}],
                "chat": {"webhook_url": "https://hooks.slack.com/services/T/B/X"},
                "sms": {"url": "http://127.0.0.1:8080/sms", "token": "t"},  # local development
            },
        )
    )
    assert book.get("default").sms_provider_url == "http://127.0.0.1:8080/sms"
    TenantBook.load(SEED_DIR / "tenants.yaml")  # empty URLs: channels not configured


def test_http_to_loopback_is_refused_when_not_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, {"sms": {"url": "http://127.0.0.1:8080/sms"}})
    with pytest.raises(ValueError, match="https only"):
        TenantBook.load(path, allow_http_loopback=False)
    check_url("https://127.0.0.1/x", allow_http_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://0xa9fea9fe/",
        "http://169.254.43518/",
        "https://[fe80::1]/",
        "https://[fd00:ec2::254]/",
        "https://[::]/",
        "https://0/",
        "https://host.example:99999/",
        "https://host.example/a b",
        "ftp://host.example/",
        "//host.example/x",
        "",
    ],
)
def test_other_refused_forms(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_url(url)


def test_bounded_text_is_one_line_and_short() -> None:
    text = bounded("a\r\nb\x1b[0m\u202e" + "z" * 10_000)
    assert text.startswith("a b[0m") and len(text) == 200 and text.endswith("…")
