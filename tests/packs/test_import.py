"""The import services: versions, idempotency, conflicts, rejection records, races."""

import copy
import threading

import pytest
from django.db import connection
from django.dispatch import receiver

from onboarding.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from packs import signals
from packs.models import DomainPack, TenantPack
from packs.services import domain_pack_import, pack_validate, tenant_pack_import
from tests.conftest import load_reference

FINANCE = "CapitalMarketsTrading"


@pytest.fixture
def events():
    seen = []

    @receiver(signals.pack_imported, weak=False, dispatch_uid="test-imported")
    def imported(sender, event, **kwargs):
        seen.append(event)

    @receiver(signals.pack_import_rejected, weak=False, dispatch_uid="test-rejected")
    def rejected(sender, event, **kwargs):
        seen.append(event)

    yield seen
    signals.pack_imported.disconnect(dispatch_uid="test-imported")
    signals.pack_import_rejected.disconnect(dispatch_uid="test-rejected")


def _tenant_content(tenant_id="TENANT_A"):
    return {**load_reference("tenant_finance_001.json"), "tenantId": tenant_id}


def test_domain_import__new_version__created_with_warnings_and_event(admin, events):
    result = domain_pack_import(
        principal=admin.principal,
        content=load_reference("domain_capital_markets.json"),
        version="v3.2",
    )
    assert result.created and result.pack.version == "v3.2" and result.pack.domain == FINANCE
    assert result.report["valid"] is True
    assert result.pack.validation_warnings == result.report["warnings"]
    assert [e.action for e in events] == ["pack.imported"]
    assert events[0].version == "v3.2" and events[0].checksum == result.pack.checksum


def test_domain_import__same_version_same_content__idempotent_no_event(admin, events):
    content = load_reference("domain_capital_markets.json")
    first = domain_pack_import(principal=admin.principal, content=content, version="v3.2")
    again = domain_pack_import(principal=admin.principal, content=content, version="v3.2")
    assert not again.created and again.pack.pk == first.pack.pk
    assert DomainPack.objects.count() == 1
    assert len(events) == 1


def test_domain_import__same_version_other_content__version_exists(admin):
    content = load_reference("domain_capital_markets.json")
    domain_pack_import(principal=admin.principal, content=content, version="v3.2")
    changed = copy.deepcopy(content)
    changed["severityRules"][0]["severity"] = "LOW"
    with pytest.raises(Conflict) as error:
        domain_pack_import(principal=admin.principal, content=changed, version="v3.2")
    assert error.value.code == "version_exists"


def test_domain_import__equal_version_other_spelling__version_exists(admin):
    content = load_reference("domain_capital_markets.json")
    domain_pack_import(principal=admin.principal, content=content, version="v3.2")
    with pytest.raises(Conflict) as error:
        domain_pack_import(principal=admin.principal, content=content, version="3.2.0")
    assert error.value.code == "version_exists"


def test_domain_import__no_version__content_version_then_next(admin):
    content = load_reference("domain_capital_markets.json")
    first = domain_pack_import(principal=admin.principal, content={**content, "version": "2.1"})
    assert first.pack.version == "2.1"
    changed = copy.deepcopy(content)
    changed["severityRules"][0]["severity"] = "LOW"
    second = domain_pack_import(principal=admin.principal, content=changed)
    assert second.pack.version == "2.2"


def test_domain_import__no_version_nothing_stored__v1_0_and_repeat_idempotent(admin):
    content = load_reference("domain_capital_markets.json")
    first = domain_pack_import(principal=admin.principal, content=content)
    again = domain_pack_import(principal=admin.principal, content=content)
    assert first.pack.version == "v1.0" and not again.created
    assert again.pack.pk == first.pack.pk


def test_domain_import__domain_mismatch__400(admin):
    with pytest.raises(InvalidInput) as error:
        domain_pack_import(
            principal=admin.principal,
            content=load_reference("domain_capital_markets.json"),
            domain="Other",
        )
    assert error.value.code == "domain_mismatch"
    assert DomainPack.objects.count() == 0


def test_domain_import__invalid_pack__rejected_recorded_nothing_stored(admin, events):
    with pytest.raises(InvalidInput) as error:
        domain_pack_import(
            principal=admin.principal,
            content=load_reference("domain_healthcare_legacy.json"),
            version="v1.0",
        )
    assert error.value.code == "pack_invalid"
    paths = {item["path"] for item in error.value.errors}
    assert "/severityRules/0/if" in paths
    assert error.value.extra["validation"]["valid"] is False
    assert [e.action for e in events] == ["pack.import_rejected"]
    assert events[0].details["errors"] == error.value.errors
    assert DomainPack.objects.count() == 0


def test_domain_import__tenant_admin__forbidden(owner):
    with pytest.raises(Forbidden):
        domain_pack_import(
            principal=owner.principal, content=load_reference("domain_capital_markets.json")
        )


def test_domain_import__content_over_limit__too_large(admin, settings):
    settings.PACK_MAX_BYTES = 1024
    with pytest.raises(PayloadTooLarge):
        domain_pack_import(
            principal=admin.principal, content=load_reference("domain_capital_markets.json")
        )


def test_tenant_import__valid__checked_against_newest_domain_pack(admin, tenant_a):
    content = load_reference("domain_capital_markets.json")
    domain_pack_import(principal=admin.principal, content=content, version="v3.1")
    result = tenant_pack_import(
        principal=admin.principal, tenant_id="TENANT_A", content=_tenant_content(), version="v1.4"
    )
    assert result.created and result.pack.domain == FINANCE
    assert result.report["checked_against"] == {"domain": FINANCE, "version": "v3.1"}


def test_tenant_import__incompatible_domain_pack_version__pack_invalid(admin, tenant_a):
    domain_pack_import(
        principal=admin.principal,
        content=load_reference("domain_capital_markets_acme.json"),
        version="v9.0",
    )
    with pytest.raises(InvalidInput) as error:
        tenant_pack_import(
            principal=admin.principal, tenant_id="TENANT_A", content=_tenant_content()
        )
    assert error.value.code == "pack_invalid"
    assert TenantPack.objects.count() == 0


def test_tenant_import__tenant_mismatch__400(admin, tenant_a):
    with pytest.raises(InvalidInput) as error:
        tenant_pack_import(
            principal=admin.principal, tenant_id="TENANT_A", content=_tenant_content("OTHER")
        )
    assert error.value.code == "tenant_mismatch"


def test_tenant_import__unknown_domain_pack_version__400(admin, tenant_a):
    with pytest.raises(InvalidInput) as error:
        tenant_pack_import(
            principal=admin.principal,
            tenant_id="TENANT_A",
            content=_tenant_content(),
            domain_pack_version="v8.8",
        )
    assert error.value.code == "unknown_pack_version"


def test_tenant_import__other_tenant_admin__404(outsider, tenant_a):
    with pytest.raises(NotFound):
        tenant_pack_import(
            principal=outsider.principal, tenant_id="TENANT_A", content=_tenant_content()
        )


def test_pack_validate__invalid__report_not_error(viewer):
    report = pack_validate(
        principal=viewer.principal,
        pack_type="tenant",
        content=load_reference("tenant_healthcare_042_legacy.json"),
    )
    assert report["valid"] is False and report["errors"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_domain_import__10_concurrent_same_version__one_201_rest_200_or_409(admin):
    content = load_reference("domain_capital_markets.json")
    variants = []
    for index in range(10):
        item = copy.deepcopy(content)
        if index % 2:
            item["severityRules"][0]["severity"] = "LOW"
        variants.append(item)
    barrier = threading.Barrier(10)
    outcomes: list = []

    def run(item):
        try:
            barrier.wait()
            result = domain_pack_import(principal=admin.principal, content=item, version="v5.0")
            outcomes.append(201 if result.created else 200)
        except Conflict as exc:
            outcomes.append((409, exc.code))
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(201) == 1, outcomes
    assert all(o in (200, 201, (409, "version_exists")) for o in outcomes), outcomes
    assert DomainPack.objects.filter(version="v5.0").count() == 1


def _run_together(count: int, work) -> list:
    barrier = threading.Barrier(count)
    outcomes: list = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes.append(work(index))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _domain_variant(index: int) -> dict:
    content = load_reference("domain_capital_markets.json")
    content.pop("version", None)
    content["description"] = f"variant {index}"
    return content


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_domain_import__12_concurrent_without_version__each_its_own_next_version(admin):
    outcomes = _run_together(
        12,
        lambda index: domain_pack_import(principal=admin.principal, content=_domain_variant(index)),
    )
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert sorted(o.pack.version for o in outcomes) == sorted(f"v1.{i}" for i in range(12))
    assert DomainPack.objects.count() == 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tenant_import__12_concurrent_without_version__each_its_own_next_version(admin, tenant_a):
    domain_pack_import(principal=admin.principal, content=_domain_variant(0), version="v3.2")

    def work(index: int):
        content = _tenant_content()
        content.pop("version", None)
        content["approvedTools"] = content["approvedTools"][: index + 1]
        return tenant_pack_import(principal=admin.principal, tenant_id="TENANT_A", content=content)

    outcomes = _run_together(12, work)
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert len({o.pack.version for o in outcomes}) == 12
    assert TenantPack.objects.filter(tenant_id="TENANT_A").count() == 12


def test_store__retries_exhausted__version_exists_names_the_version(admin, monkeypatch):
    """A pathological race (every insert loses) ends in 409 naming the version tried last."""
    from django.db import IntegrityError

    from packs.services import imports as services

    content = _domain_variant(0)
    domain_pack_import(principal=admin.principal, content=_domain_variant(1))
    real_save = DomainPack.save

    def losing_save(self, *args, **kwargs):
        if self.pk is None:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(DomainPack, "save", losing_save)
    monkeypatch.setattr(services, "_version_taken", lambda versions, version: True, raising=False)
    with pytest.raises(Conflict) as caught:
        domain_pack_import(principal=admin.principal, content=content)
    assert caught.value.code == "version_exists"
    assert "v1.1" in caught.value.detail and "  " not in caught.value.detail
    assert caught.value.errors[0]["message"] == "Version v1.1 already exists."


def test_domain_import__without_version_lost_race__retries_with_the_next_version(
    admin, events, monkeypatch
):
    """A stale read of the newest version (another import stored it meanwhile) makes the
    insert fail; the import reads again and stores the version after the winner's."""
    from packs.services import imports as services

    domain_pack_import(principal=admin.principal, content=_domain_variant(1))
    real_next = services.next_version
    stale = iter([None])

    def next_version(latest):
        return real_next(next(stale, latest))  # the first read sees no version at all

    monkeypatch.setattr(services, "next_version", next_version)
    result = domain_pack_import(principal=admin.principal, content=_domain_variant(2))
    assert result.created and result.pack.version == "v1.1"
    assert sorted(DomainPack.objects.values_list("version", flat=True)) == ["v1.0", "v1.1"]
    assert [event.version for event in events] == ["v1.0", "v1.1"]
