"""Fast checks of the benchmark tooling itself (no servers, no timing)."""

from collections import Counter

import pytest

from bench import http, report, scale, soak


def test_scale_rows__ten_times__versions_unique_per_owner_and_one_x_is_a_prefix():
    small = list(scale._domain_pack_rows(0, 2_000))
    large = list(scale._domain_pack_rows(0, 20_000))
    assert large[:2_000] == small
    keys = Counter((row[0], row[2]) for row in large)
    assert max(keys.values()) == 1
    assert sum(1 for row in large if row[0] == scale.HOT_DOMAIN) == 2_000


def test_tenant_pack_rows__added_range__new_tenants_and_unique_versions():
    rows = list(scale._tenant_pack_rows(0, 1_000, 1, 100))
    rows += list(scale._tenant_pack_rows(1_000, 10_000, 100, 1_000))
    keys = Counter((row[-1], row[2]) for row in rows)
    assert max(keys.values()) == 1
    assert sum(1 for row in rows if row[-1] == scale.HOT_TENANT) == 1_000


def test_wrk_latency__units__milliseconds():
    assert http._ms("250.00us") == 0.25
    assert http._ms("1.50ms") == 1.5
    assert http._ms("2.00s") == 2000.0


def test_report_normalise__value_and_baseline__ratio_and_unknown_keys_in_note():
    row = report.normalise({"name": "x", "value": 50.0, "baseline": 100.0, "median_us": 3})
    assert row["ratio"] == 0.5
    assert "median_us" in row["note"]


def test_report_markdown__rows__table_and_verdicts(tmp_path):
    target = tmp_path / "performance.md"
    rows = [
        {"group": "g", "name": "fast", "value": 1.0, "unit": "ms", "target": "≤ 2", "pass": True},
        {"group": "g", "name": "slow", "value": 3.0, "unit": "ms", "pass": False},
    ]
    report.write_markdown(rows, {"cpus": 2}, target, notes=["n"])
    text = target.read_text()
    assert "| g | fast | 1 ms |" in text
    assert "PASS" in text and "FAIL" in text
    assert "- slow" in text


def test_soak_fault_window__overlap_and_grace__classified():
    state = soak.Soak("http://127.0.0.1:1", "a", "b", 0.0, 1)
    state.windows.append((10.0, 11.0, "terminate_db"))
    inside = soak.Call("import", "T", 10.5, 10.6, 500)
    grace = soak.Call("import", "T", 12.0, 12.1, 500)
    outside = soak.Call("import", "T", 20.0, 20.1, 500)
    assert soak.in_fault_window(state, inside)
    assert soak.in_fault_window(state, grace)
    assert not soak.in_fault_window(state, outside)


def test_bench_impact__small_run__three_figures_with_baseline_and_ratio():
    """The decision-impact part of `make bench` runs without a database and reports its figures
    against evaluating the samples once (no timing is asserted here: that is the benchmark's)."""
    from bench import bench_impact

    bench_impact.SAMPLES, bench_impact.ROUNDS = 200, 1
    try:
        rows = bench_impact.run()
    finally:
        bench_impact.SAMPLES, bench_impact.ROUNDS = 10_000, 5
    assert len(rows) == 3
    for row in rows:
        assert row["unit"] == "s" and row["baseline"] > 0 and row["ratio"] is not None
        assert "errors" in row["note"] and "samples changed" in row["note"]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("tenants", scale.TENANT_COLUMNS),
        ("domain_packs", scale.PACK_COLUMNS),
        ("tenant_packs", scale.TENANT_PACK_COLUMNS),
    ],
)
def test_scale_copy_columns__current_schema__every_required_column_written(table, columns):
    # COPY bypasses the models' defaults: a new NOT NULL column without a database default
    # must be written by the generator, or `make bench` loses its scale figures.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND is_nullable = 'NO' AND column_default IS NULL",
            [table],
        )
        required = {name for (name,) in cursor.fetchall()} - {"id"}
    assert required <= set(columns), sorted(required - set(columns))


def test_bench_revocation_row__lags__p50_p99_and_a_miss_fails():
    from bench import bench_revocation

    lags = [0.002] * 98 + [0.05, 0.09]
    row = bench_revocation._row("revocation", lags, "note")
    assert (row["value"], row["p50"], row["p99"], row["unit"]) == (2.0, 2.0, 50.0, "ms")
    assert row["pass"] is True
    assert "max 90.0 ms" in row["note"]
    missed = bench_revocation._row("revocation", [*lags[1:], bench_revocation.DEADLINE_S], "")
    assert missed["pass"] is False
    assert "1 not refused" in missed["note"]
