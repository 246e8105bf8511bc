"""The snapshot that bad-input tests compare (tests/db_state.py) sees a write to any table."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.models import AuditEvent
from impact.models import TenantSampleSet
from tests.db_state import db_state


def test_db_state__row_in_a_table_no_list_named__differs(tenant_a):
    before = db_state()
    TenantSampleSet.objects.create(
        tenant=tenant_a, checksum="0" * 64, uploaded_by="x", uploaded_at=timezone.now()
    )
    after = db_state()
    assert after != before
    assert [t for t in after if after[t] != before.get(t)] == ["tenant_sample_sets"]


def test_db_state__changed_column__differs(tenant_a):
    before = db_state()
    type(tenant_a).objects.filter(pk=tenant_a.pk).update(name="renamed")
    assert db_state() != before


def test_db_state__login_time_and_refused_review_row__ignored(admin):
    # Both are written on purpose by a refusal or a login, not by the refused change.
    before = db_state()
    get_user_model().objects.filter(pk=admin.user.pk).update(last_login=timezone.now())
    AuditEvent.objects.create(
        occurred_at=timezone.now(),
        actor="x",
        action="change_request.review_refused",
        summary="refused",
        prev_hash="1" * 64,
        hash="2" * 64,
    )
    assert db_state() == before
