import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from audit.models import AuditEvent
from impact.models import TenantSampleSet
from packs.models import DomainPack, PlaybookLink, TenantPack
from runtime_config.models import ActivationHistory, TenantActiveConfig
from tests.conftest import REFERENCE, make_actor, make_tenant

ROOT = Path(__file__).resolve().parents[2]


OPS_ADMIN = "ops-admin"


def ops_actor(username: str = OPS_ADMIN):
    """The platform ADMIN the commands below act as (`--actor` names a real user, issue 21)."""
    user = get_user_model().objects.filter(username=username).first()
    return user or make_actor(username, "ADMIN").user


def run(*args) -> tuple[int, str]:
    if args[:1] in (("import_packs",), ("activate",)) and "--actor" not in args:
        ops_actor()
        args = (*args, "--actor", OPS_ADMIN)
    elif "--actor" in args:
        ops_actor(args[args.index("--actor") + 1])
    out = io.StringIO()
    # seed_demo refuses to run without DEBUG (it creates known passwords).
    debug = override_settings(DEBUG=True) if args[:1] == ("seed_demo",) else nullcontext()
    try:
        with debug:
            call_command(*args, stdout=out, stderr=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def state() -> dict:
    return {
        "domain": sorted(DomainPack.objects.values_list("domain", "version", "checksum", "status")),
        "tenant": sorted(
            TenantPack.objects.values_list("tenant_id", "version", "checksum", "status")
        ),
        "active": sorted(
            TenantActiveConfig.objects.values_list(
                "tenant_id", "domain_pack__version", "tenant_pack__version", "revision"
            )
        ),
        "history": ActivationHistory.objects.count(),
        "links": sorted(PlaybookLink.objects.values_list("tenant_id", "playbook_id")),
        "samples": sorted(TenantSampleSet.objects.values_list("tenant_id", "count", "checksum")),
    }


@pytest.fixture
def finance_folder(tmp_path) -> Path:
    folder = tmp_path / "packs"
    folder.mkdir()
    for name in (
        "domain_capital_markets.json",
        "tenant_finance_001.json",
        "domain_healthcare_legacy.json",
        "tenant_healthcare_042_legacy.json",
    ):
        shutil.copy(REFERENCE / name, folder / name)
    return folder


@pytest.mark.django_db
def test_import_packs__reference_folder__valid_imported_legacy_rejected_exit_1(finance_folder):
    make_tenant("TENANT_FINANCE_001")
    make_tenant("TENANT_HEALTHCARE_042")
    code, out = run("import_packs", str(finance_folder))
    assert code == 1
    assert DomainPack.objects.filter(domain="CapitalMarketsTrading").count() == 1
    assert TenantPack.objects.filter(tenant_id="TENANT_FINANCE_001").count() == 1
    assert not DomainPack.objects.filter(domain="HealthcareClaimsAndCareOps").exists()
    assert not TenantPack.objects.filter(tenant_id="TENANT_HEALTHCARE_042").exists()
    assert "2 imported" in out and "2 rejected" in out
    assert "unsupported_key" in out or "missing_required" in out


@pytest.mark.django_db
def test_import_packs__run_twice__second_run_changes_nothing(finance_folder):
    make_tenant("TENANT_FINANCE_001")
    make_tenant("TENANT_HEALTHCARE_042")
    run("import_packs", str(finance_folder))
    before = state()
    code, out = run("import_packs", str(finance_folder))
    assert code == 1
    assert "2 unchanged" in out
    assert state() == before


@pytest.mark.django_db
def test_import_packs__dry_run__writes_nothing(finance_folder):
    make_tenant("TENANT_FINANCE_001")
    code, out = run(
        "import_packs", "--dry-run", str(finance_folder / "domain_capital_markets.json")
    )
    assert code == 0
    assert "valid" in out and "dry run" in out
    assert not DomainPack.objects.exists()


@pytest.mark.django_db
def test_import_packs__activate__tenant_runs_imported_pair(finance_folder):
    make_tenant("TENANT_FINANCE_001")
    (finance_folder / "domain_healthcare_legacy.json").unlink()
    (finance_folder / "tenant_healthcare_042_legacy.json").unlink()
    code, out = run("import_packs", "--activate", "--actor", "ops-bot", str(finance_folder))
    assert code == 0, out
    active = TenantActiveConfig.objects.get(tenant_id="TENANT_FINANCE_001")
    assert active.domain_pack.domain == "CapitalMarketsTrading"
    assert active.tenant_pack.version == "v1.0"
    assert active.activated_by == "ops-bot"


@pytest.mark.django_db
def test_import_packs__missing_path__exit_2():
    code, _ = run("import_packs", "/nonexistent/folder")
    assert code == 2


@pytest.mark.django_db
def test_verify_packs__tampered_row__exit_1_naming_it(admin):
    from packs.services import domain_pack_create

    pack = domain_pack_create(principal=admin.principal, domain="D", version="v1", content={"a": 1})
    assert run("verify_packs")[0] == 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE domain_packs DISABLE TRIGGER domain_packs_immutable")
        cursor.execute(
            "UPDATE domain_packs SET content_json = %s WHERE id = %s",
            [json.dumps({"a": 2}), pack.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE domain_packs ENABLE TRIGGER domain_packs_immutable")
    code, out = run("verify_packs")
    assert code == 1
    assert f"id={pack.pk}" in out


@pytest.mark.django_db
def test_seed_demo__twice__same_state():
    code, out = run("seed_demo")
    assert code == 0, out
    first = state()
    assert first["active"] == [("TENANT_FINANCE_001", "v3.2", "v1.4", 1)]
    assert first["links"] == [("TENANT_FINANCE_001", "SETTLEMENT_FAIL")]
    assert [row[:2] for row in first["samples"]] == [("TENANT_FINANCE_001", 8)]
    assert "admin-demo-password" in out
    audit_rows = AuditEvent.objects.count()
    assert run("seed_demo")[0] == 0
    assert state() == first
    assert AuditEvent.objects.count() == audit_rows


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


@pytest.mark.django_db
def test_export_packs__import_into_empty_database__same_checksums(tmp_path, admin):
    run("seed_demo")
    exported = tmp_path / "export"
    assert run("export_packs", str(exported))[0] == 0
    assert (exported / "domain" / "CapitalMarketsTrading" / "v3.2.json").exists()
    domain_rows = DomainPack.objects.values_list("version", "checksum")
    tenant_rows = TenantPack.objects.values_list("version", "checksum")
    expected = sorted([*domain_rows, *tenant_rows])
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DB_NAME"}} | {
        "SQLITE_PATH": str(tmp_path / "empty.sqlite3"),
        "SECRET_KEY": "x",
    }
    _manage(env, "migrate", "-v0")
    _manage(env, "issue_token", "ops-admin", "--role", "ADMIN")
    _manage(env, "import_packs", "--create-tenants", "--actor", "ops-admin", str(exported))
    printed = _manage(
        env,
        "shell",
        "-c",
        "import json; from packs.models import DomainPack, TenantPack; print(json.dumps(sorted("
        "[*DomainPack.objects.values_list('version','checksum')]"
        " + [*TenantPack.objects.values_list('version','checksum')])))",
    )
    assert [tuple(row) for row in json.loads(printed.strip().splitlines()[-1])] == expected


@pytest.mark.django_db
def test_seed_demo__base_url__printed_login_and_curl_use_it():
    code, out = run("seed_demo", "--base-url", "http://127.0.0.1:8102/")
    assert code == 0, out
    assert "Log in at http://127.0.0.1:8102/login" in out
    assert "http://127.0.0.1:8102/runtime/tenants/TENANT_FINANCE_001/config" in out
    assert ":8000" not in out


def test_makefile__run__passes_host_and_port_to_seed_demo():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "seed_demo --base-url http://$(HOST):$(PORT)" in makefile
    assert "runserver $(HOST):$(PORT)" in makefile


def _other_domain_world() -> None:
    """A tenant whose domain got a newer, unrelated version after its pack was imported: the
    pack is valid against OtherMarkets v1.0 only."""
    from packs.services import domain_pack_import, tenant_pack_import
    from tenants.principals import Principal
    from tests.conftest import load_reference

    system = Principal.system("setup")
    make_tenant("TENANT_OTHER")
    domain = {**load_reference("domain_capital_markets.json"), "domainName": "OtherMarkets"}
    domain_pack_import(principal=system, content=domain, version="v1.0")
    tenant = {
        **load_reference("tenant_finance_001.json"),
        "tenantId": "TENANT_OTHER",
        "domainName": "OtherMarkets",
    }
    imported = tenant_pack_import(
        principal=system, tenant_id="TENANT_OTHER", content=tenant, version="v1.0"
    )
    assert imported.pack.validated_against_version == "v1.0"
    unrelated = {**load_reference("domain_capital_markets_acme.json"), "domainName": "OtherMarkets"}
    domain_pack_import(principal=system, content=unrelated, version="v2.0")


def _all_packs() -> list[tuple]:
    return sorted(
        [
            *(
                ("domain", *row)
                for row in DomainPack.objects.values_list("domain", "version", "checksum")
            ),
            *(
                ("tenant", *row)
                for row in TenantPack.objects.values_list("tenant_id", "version", "checksum")
            ),
        ]
    )


@pytest.mark.django_db
def test_export_import__tenant_of_a_domain_with_newer_unrelated_version__every_pack_round_trips(
    tmp_path,
):
    from django.db import transaction

    exported = tmp_path / "export"
    # Seed and export inside a transaction that is then rolled back: the import below runs
    # against the same, again empty, database (works on SQLite and PostgreSQL alike).
    with transaction.atomic():
        assert run("seed_demo")[0] == 0
        _other_domain_world()
        expected = _all_packs()
        assert run("export_packs", str(exported))[0] == 0
        transaction.set_rollback(True)
    assert not DomainPack.objects.exists() and not TenantPack.objects.exists()
    manifest = json.loads((exported / "export_manifest.json").read_text())
    entry = next(e for e in manifest["packs"] if e.get("tenant_id") == "TENANT_OTHER")
    assert entry["validated_against_version"] == "v1.0"

    code, out = run("import_packs", "--create-tenants", str(exported))
    assert code == 0, out
    assert _all_packs() == expected
    other = TenantPack.objects.get(tenant_id="TENANT_OTHER")
    assert other.validated_against_version == "v1.0"


@pytest.mark.django_db
def test_import_packs__domain_version__single_tenant_pack_checked_against_it(tmp_path):
    from packs.services import domain_pack_import
    from tenants.principals import Principal
    from tests.conftest import load_reference

    system = Principal.system("setup")
    make_tenant("TENANT_FINANCE_001")
    domain_pack_import(
        principal=system, content=load_reference("domain_capital_markets.json"), version="v1.0"
    )
    domain_pack_import(
        principal=system,
        content=load_reference("domain_capital_markets_acme.json"),
        version="v2.0",
    )
    pack = tmp_path / "tenant.json"
    shutil.copy(REFERENCE / "tenant_finance_001.json", pack)
    code, out = run("import_packs", str(pack))
    assert code == 1 and "unknown_reference" in out
    assert not TenantPack.objects.exists()
    code, out = run("import_packs", "--domain-version", "v1.0", str(pack))
    assert code == 0, out
    assert TenantPack.objects.get().validated_against_version == "v1.0"


@pytest.mark.django_db
def test_import_packs__bad_domain_version__exit_2_nothing_written(tmp_path):
    from audit.models import AuditEvent

    before = AuditEvent.objects.count()
    code, out = run(
        "import_packs",
        "--domain-version",
        "not a version",
        str(REFERENCE / "tenant_finance_001.json"),
    )
    assert code == 2 and "invalid_version" in out
    assert AuditEvent.objects.count() == before and not TenantPack.objects.exists()


@pytest.mark.django_db
def test_import_packs__same_content_new_version__duplicate_content_in_output(tmp_path):
    folder = tmp_path / "dup"
    folder.mkdir()
    content = (REFERENCE / "domain_capital_markets.json").read_bytes()
    (folder / "v1.0.json").write_bytes(content)
    (folder / "v1.1.json").write_bytes(content)
    code, out = run("import_packs", str(folder))
    assert code == 0, out
    assert "duplicate_content" in out and "version v1.0" in out
    assert DomainPack.objects.count() == 2


@pytest.mark.django_db
def test_import_packs__unreadable_file__rejected_and_recorded(tmp_path):
    from audit.models import AuditEvent

    bad = tmp_path / "v1.0.json"
    bad.write_text('{"domainName": "X", "n": NaN}')
    before = AuditEvent.objects.count()
    code, out = run("import_packs", str(bad))
    assert code == 1 and "invalid_number" in out
    rows = list(AuditEvent.objects.order_by("id")[before:])
    assert [(r.action, r.details["reason"], r.version) for r in rows] == [
        ("pack.import_rejected", "invalid_number", "v1.0")
    ]
    assert not DomainPack.objects.exists()
    # A dry run writes nothing, not even the refusal.
    before = AuditEvent.objects.count()
    assert run("import_packs", "--dry-run", str(bad))[0] == 1
    assert AuditEvent.objects.count() == before


def _outcomes(out: str) -> dict[str, str]:
    """file name -> outcome, from the per-file progress lines."""
    lines = [line.split() for line in out.splitlines() if line.startswith("[")]
    return {Path(parts[-1]).name: parts[1] for parts in lines if len(parts) >= 3}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("activate", [False, True])
def test_import_packs__dry_run_with_create_tenants__agrees_with_the_real_run(tmp_path, activate):
    """Issue 25 item 8: the dry run said tenant_not_found and exited 1 where the real run (which
    creates the tenant, imports the domain pack first and checks the tenant pack against it)
    succeeds. The dry run is the real run rolled back: same outcomes, nothing written."""
    from tests.db_state import db_state

    folder = tmp_path / "packs"
    folder.mkdir()
    for name in ("domain_capital_markets.json", "tenant_finance_001.json"):
        shutil.copy(REFERENCE / name, folder / name)
    extra = ("--activate",) if activate else ()
    before = db_state()
    code, dry = run("import_packs", "--dry-run", "--create-tenants", *extra, str(folder))
    assert db_state() == before
    assert code == 0, dry
    assert "tenant_not_found" not in dry and "dry run" in dry
    code_real, real = run("import_packs", "--create-tenants", *extra, str(folder))
    assert code_real == 0, real
    dry_outcomes, real_outcomes = _outcomes(dry), _outcomes(real)
    assert len(real_outcomes) == 2
    assert dry_outcomes == {
        name: "valid" if outcome == "imported" else outcome
        for name, outcome in real_outcomes.items()
    }
    if activate:
        assert "activation applied" in dry and "activation applied" in real
