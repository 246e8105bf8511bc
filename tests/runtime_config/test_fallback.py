"""File fallback: a tenant without an active configuration in the database, served from files."""

import json

import pytest

from onboarding.errors import NotFound
from runtime_config.evaluator import evaluate
from runtime_config.fallback import FallbackPackInvalid
from runtime_config.runtime import get_effective_config, invalidate
from tests.runtime_config.runtime_support import (
    FINANCE,
    activate_direct,
    make_finance_tenant,
    store_domain,
    store_tenant,
)


@pytest.fixture(autouse=True)
def fresh_cache():
    invalidate()
    yield
    invalidate()


@pytest.fixture
def pack_dir(tmp_path, finance_domain, finance_tenant):
    (tmp_path / "domain").mkdir()
    (tmp_path / "tenant").mkdir()
    finance_domain["version"] = "v3.2"
    (tmp_path / "domain" / "capital_markets.json").write_text(json.dumps(finance_domain))
    (tmp_path / "tenant" / f"{FINANCE}.json").write_text(json.dumps(finance_tenant))
    return tmp_path


def test_fallback__on_and_no_db_config__served_from_files(db, pack_dir, settings):
    settings.PACKS_FILE_FALLBACK_DIR = str(pack_dir)
    make_finance_tenant()
    config = get_effective_config(FINANCE)
    assert config.source == "file"
    assert config.domain_pack_version == "v3.2"
    assert config.tenant_pack_version == "file:TENANT_FINANCE_001.json"
    assert config.revision == 0
    decision = evaluate(tenant_id=FINANCE, exception_type="POSITION_BREAK", payload={})
    assert decision["severity"] == "CRITICAL"
    assert decision["requires_approval"] is True
    assert decision["explanation"]["packs"]["source"] == "file"


def test_fallback__on_and_tenant_not_in_db__served_from_files(db, pack_dir, settings):
    settings.PACKS_FILE_FALLBACK_DIR = str(pack_dir)
    assert get_effective_config(FINANCE).source == "file"


def test_fallback__off__no_active_config(db, pack_dir, settings):
    settings.PACKS_FILE_FALLBACK_DIR = ""
    make_finance_tenant()
    with pytest.raises(NotFound) as caught:
        get_effective_config(FINANCE)
    assert caught.value.code == "no_active_config"


def test_fallback__on_but_no_file_for_tenant__no_active_config(db, pack_dir, settings):
    settings.PACKS_FILE_FALLBACK_DIR = str(pack_dir)
    (pack_dir / "tenant" / f"{FINANCE}.json").unlink()
    make_finance_tenant()
    with pytest.raises(NotFound) as caught:
        get_effective_config(FINANCE)
    assert caught.value.code == "no_active_config"


def test_fallback__db_config_active__database_wins(
    db, pack_dir, settings, finance_domain, finance_tenant
):
    settings.PACKS_FILE_FALLBACK_DIR = str(pack_dir)
    make_finance_tenant()
    activate_direct(FINANCE, store_domain(finance_domain, "v9.0"), store_tenant(finance_tenant))
    config = get_effective_config(FINANCE)
    assert (config.source, config.domain_pack_version) == ("database", "v9.0")


def test_fallback__files_in_top_folder__classified_by_content(
    db, tmp_path, settings, finance_domain, finance_tenant
):
    (tmp_path / "a.json").write_text(json.dumps(finance_tenant))
    (tmp_path / "b.json").write_text(json.dumps(finance_domain))
    settings.PACKS_FILE_FALLBACK_DIR = str(tmp_path)
    config = get_effective_config(FINANCE)
    assert config.domain == "CapitalMarketsTrading"
    assert config.domain_pack_version == "file:b.json"


def test_fallback__several_domain_versions__highest_wins(db, pack_dir, settings, finance_domain):
    finance_domain["version"] = "v3.10"
    (pack_dir / "domain" / "newer.json").write_text(json.dumps(finance_domain))
    settings.PACKS_FILE_FALLBACK_DIR = str(pack_dir)
    assert get_effective_config(FINANCE).domain_pack_version == "v3.10"


def test_fallback__malformed_file__ignored_and_logged(db, pack_dir, settings, caplog):
    (pack_dir / "tenant" / "broken.json").write_text('{"tenantId": "X", "tenantId": "Y"}')
    settings.PACKS_FILE_FALLBACK_DIR = str(pack_dir)
    assert get_effective_config(FINANCE).source == "file"
    assert any("broken.json" in record.getMessage() for record in caplog.records)


def test_fallback__invalid_pack_file__refused(db, pack_dir, settings, finance_tenant):
    finance_tenant["approvedTools"] = ["noSuchTool"]
    (pack_dir / "tenant" / f"{FINANCE}.json").write_text(json.dumps(finance_tenant))
    settings.PACKS_FILE_FALLBACK_DIR = str(pack_dir)
    with pytest.raises(FallbackPackInvalid) as caught:
        get_effective_config(FINANCE)
    assert caught.value.code == "fallback_pack_invalid"
    assert caught.value.errors
