"""GET /admin/rollouts, through the API and the page door, costs as many queries for 30 rollouts
as for 3: the rows' tenant counts (and, on the page, their wave progress) come from one grouped
query per page, not one per row."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from rollouts.models import Rollout
from rollouts.selectors import rollout_counts
from rollouts.services import rollout_abort, rollout_create, rollout_step
from tests.api.conftest import send
from tests.rollouts.conftest import DOMAIN, ROLLOUTS, make_fleet
from tests.rollouts.test_pages import rollout_of_three
from tests.runtime_config.activation_helpers import SETUP
from tests.ui.conftest import HTML, browser


def _ended_rollouts(count: int) -> None:
    """Rollouts of T01..T03 that each moved T01 in wave 1 and were then aborted (T01 restored),
    so every row has more than one status to count; ended, they free the tenants for the next."""
    for _ in range(count):
        rollout = rollout_of_three()
        assert rollout_step(rollout_id=str(rollout.pk)) == "applied"
        rollout_abort(principal=SETUP, rollout_id=rollout.pk)


def _queries(get) -> tuple[int, object]:
    # A first request warms what a client does once (session, token use, rate-limit counters),
    # so the measured one counts only what the list itself costs.
    get()
    with CaptureQueriesContext(connection) as queries:
        response = get()
    assert response.status_code == 200
    return len(queries), response


def test_rollout_list_api__3_then_30_rollouts__same_number_of_queries(small_fleet, admin):
    _ended_rollouts(3)
    few, _ = _queries(lambda: send(admin.client, "GET", ROLLOUTS))
    _ended_rollouts(27)
    many, response = _queries(lambda: send(admin.client, "GET", ROLLOUTS))
    assert many == few
    body = response.json()
    assert body["count"] == 30
    assert {row["id"]: row["counts"] for row in body["results"]} == {
        str(rollout.pk): rollout_counts(rollout) for rollout in Rollout.objects.all()
    }
    assert body["results"][0]["counts"] == {"PENDING": 2, "RESTORED": 1}


def test_rollout_list_page__3_then_30_rollouts__same_number_of_queries(small_fleet, admin):
    client = browser(admin)
    _ended_rollouts(3)
    few, _ = _queries(lambda: client.get("/admin/rollouts", **HTML))
    _ended_rollouts(27)
    many, response = _queries(lambda: client.get("/admin/rollouts", **HTML))
    assert many == few
    page = response.content.decode()
    assert page.count('aria-label="waves applied">1/2</progress>') == 30
    assert page.count("2 pending, 1 restored") == 30


def _create_queries(tenants: list[str], all_on_domain: bool = False) -> int:
    with CaptureQueriesContext(connection) as queries:
        rollout = rollout_create(
            principal=SETUP,
            domain=DOMAIN,
            domain_pack_version="v3.3",
            tenants=None if all_on_domain else tenants,
            all_on_domain=all_on_domain,
            waves=[{"tenants": tenants[:1]}, {"tenants": tenants[1:]}],
            bake_seconds=3600,
        ).rollout
    rollout_abort(principal=SETUP, rollout_id=rollout.pk)
    return len(queries)


def test_rollout_create__more_tenants__same_number_of_queries(db, finance_domain, finance_tenant):
    # Each tenant's access check, approval policy and packs come from queries for the whole plan
    # (a plan of 10,000 tenants made 3 queries per tenant before).
    fleet = make_fleet(finance_domain, finance_tenant, 12)
    small, large = _create_queries(fleet[:3]), _create_queries(fleet)
    assert small == large, (small, large)
    # Every tenant on the domain: no access query per tenant either.
    assert _create_queries(fleet, all_on_domain=True) <= small
