"""Sample set uploads at the same time (PostgreSQL): each one lands whole, none fails, one set
is left and every upload is audited."""

import pytest

from audit.models import AuditEvent
from impact.models import TenantSampleSet
from impact.services import sample_set_replace
from tests.runtime_config.test_concurrency import run_in_threads

THREADS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sample_set_replace__concurrent_first_uploads__one_whole_set_none_fails(tenant_a, admin):
    def work(index: int):
        line = b'{"exception_type": "CASH_BREAK", "payload": {"i": %d}}\n' % index
        return sample_set_replace(
            principal=admin.principal, tenant_id="TENANT_A", data=line * (index + 1)
        ).count

    results, errors = run_in_threads(THREADS, work)

    assert errors == []
    assert sorted(results) == list(range(1, THREADS + 1))
    stored = TenantSampleSet.objects.get(tenant_id="TENANT_A")
    assert {item["payload"]["i"] for item in stored.samples} == {stored.count - 1}
    assert AuditEvent.objects.filter(action="tenant.samples_replaced").count() == THREADS
