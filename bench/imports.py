"""Import throughput: 1,000 generated packs of mixed sizes through `manage.py import_packs`
(or, while that command does not exist, through the import services in a loop, labelled so)."""

import copy
import io
import json
import tempfile
import time
from pathlib import Path

from bench.common import reference_pack

TARGET_PACKS_PER_S = 100.0
MIX = {"tenant": 600, "domain_small": 300, "domain_medium": 90, "domain_large": 10}


def _grown_domain_pack(domain: str, version: str, extra: int) -> dict:
    """The reference domain pack plus `extra` tools, exception types, rules and playbooks."""
    pack = copy.deepcopy(reference_pack("domain_capital_markets.json"))
    pack["domainName"] = domain
    pack["exceptionTypes"]["POSITION_BREAK"]["description"] += f" (bench {version})"
    for i in range(extra):
        name = f"BENCH_TYPE_{i}"
        pack["tools"][f"benchTool{i}"] = {
            "description": f"Generated tool {i} for the import benchmark.",
            "parameters": {"orderId": {"type": "string", "required": True}},
            "endpoint": f"https://api.example.com/bench/tool{i}",
        }
        pack["exceptionTypes"][name] = {"description": f"Generated type {i}.", "detectionRules": []}
        pack["severityRules"].append(
            {
                "condition": f"exceptionType == '{name}' && rawPayload.amount > {i}",
                "severity": "LOW",
            }
        )
        if i % 10 == 0:
            pack["playbooks"].append(
                {
                    "exceptionType": name,
                    "steps": [{"action": f"Call benchTool{i} and open a case", "parameters": {}}],
                }
            )
    return pack


def generate_packs(folder: Path, tenant_ids: list[str]) -> dict:
    domain_dir, tenant_dir = folder / "1_domain", folder / "2_tenant"
    domain_dir.mkdir(parents=True)
    tenant_dir.mkdir(parents=True)
    reference_domain = reference_pack("domain_capital_markets.json")
    reference_tenant = reference_pack("tenant_finance_001.json")
    files = []
    for i in range(MIX["domain_small"]):
        pack = copy.deepcopy(reference_domain)
        pack["exceptionTypes"]["POSITION_BREAK"]["description"] += f" (bench {i})"
        files.append((domain_dir / f"small_{i:04d}.json", pack))
    for i in range(MIX["domain_medium"]):
        files.append(
            (
                domain_dir / f"medium_{i:04d}.json",
                _grown_domain_pack("BenchImportM", f"1.0.{i}", 150),
            )
        )
    for i in range(MIX["domain_large"]):
        files.append(
            (
                domain_dir / f"large_{i:04d}.json",
                _grown_domain_pack("BenchImportL", f"1.0.{i}", 1500),
            )
        )
    for i in range(MIX["tenant"]):
        pack = copy.deepcopy(reference_tenant)
        pack["tenantId"] = tenant_ids[i % len(tenant_ids)]
        pack["retentionPolicies"] = {"dataTTL": 30 + i}
        files.append((tenant_dir / f"tenant_{i:04d}.json", pack))
    total = 0
    for path, pack in files:
        data = json.dumps(pack, indent=1).encode()
        path.write_bytes(data)
        total += len(data)
    sizes = sorted(path.stat().st_size for path, _ in files)
    return {
        "dirs": [domain_dir, tenant_dir],
        "count": len(files),
        "bytes": total,
        "smallest": sizes[0],
        "largest": sizes[-1],
    }


def _via_command(dirs: list[Path]) -> tuple[float, str, int]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tenants.models import RoleBinding

    # `--actor` names a real platform ADMIN (issue 21).
    user, _ = get_user_model().objects.get_or_create(username="bench")
    RoleBinding.objects.get_or_create(user=user, tenant=None, defaults={"role": "ADMIN"})
    out = io.StringIO()
    started = time.perf_counter()
    code = 0
    try:
        call_command("import_packs", *map(str, dirs), "--actor", "bench", stdout=out, stderr=out)
    except SystemExit as exc:
        code = int(exc.code or 0)
    except Exception as exc:
        out.write(f"\nimport_packs raised {exc!r}")
        code = 2
    return time.perf_counter() - started, out.getvalue()[-2000:], code


def _via_services(dirs: list[Path]) -> tuple[float, str, int]:
    from onboarding.errors import ServiceError
    from onboarding.intake import load_json_object
    from packs import services
    from tenants.principals import Principal

    principal = Principal.system("bench")
    rejected = 0
    started = time.perf_counter()
    for folder in dirs:
        for path in sorted(folder.iterdir()):
            content = load_json_object(path.read_bytes())
            try:
                if "tenantId" in content:
                    services.tenant_pack_import(
                        principal=principal, tenant_id=content["tenantId"], content=content
                    )
                else:
                    services.domain_pack_import(principal=principal, content=content)
            except ServiceError:
                rejected += 1
    return time.perf_counter() - started, f"{rejected} rejected", 1 if rejected else 0


def run(tenant_ids: list[str], *, log=print) -> list[dict]:
    from django.core.management import get_commands

    from packs import services

    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        packs = generate_packs(Path(tmp), tenant_ids)
        if "import_packs" in get_commands():
            method = "manage.py import_packs"
            seconds, output, code = _via_command(packs["dirs"])
        elif hasattr(services, "domain_pack_import"):
            method = "packs.services.*_pack_import loop (import_packs not present yet)"
            seconds, output, code = _via_services(packs["dirs"])
        else:
            return [
                {
                    "group": "import",
                    "name": "import throughput",
                    "value": None,
                    "pass": False,
                    "note": "neither import_packs nor the import services exist yet",
                }
            ]
    log(f"import: {packs['count']} packs in {seconds:.1f} s via {method}")
    rate = packs["count"] / seconds
    last_line = (output.strip().splitlines() or [""])[-1]
    megabytes = packs["bytes"] / 1e6
    return [
        {
            "group": "import",
            "name": f"import {packs['count']} packs ({megabytes:.1f} MB, "
            f"{packs['smallest'] // 1024}-{packs['largest'] // 1024} KB) via {method}",
            "unit": "packs/s",
            "value": rate,
            "target": f"≥ {TARGET_PACKS_PER_S:.0f} packs/s",
            "pass": rate >= TARGET_PACKS_PER_S and code == 0,
            "note": f"{megabytes / seconds:.2f} MB/s; exit {code}; {last_line[:200]}",
        }
    ]
