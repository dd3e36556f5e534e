"""Events to the partner's backend in the store: the outbox picks the endpoints that take an
event; claims never hand one delivery to two dispatchers; attempts end Failed at their bound;
a replay queues the same event again; bad endpoints are refused, naming what is wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from connectors.event_delivery import Attempt, DeliveryPolicy
from store import event_deliveries, event_endpoints, partner_events
from store.event_endpoints import EndpointChange
from store.partner_events import Outbox
from store.problems import Invalid
from store.tables import Account, DeliveryAttempt, EventDelivery, EventEndpoint

POLICY = DeliveryPolicy(attempts=3, first_backoff=0, max_backoff=0, max_age=3600, timeout=5)
REFUSED = Attempt(datetime.now(UTC), 0.01, error="ConnectionFailed: refused")
TAKEN = Attempt(datetime.now(UTC), 0.01, status_code=200, response="ok")


def later() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


@pytest.fixture
def accounts(db) -> tuple[str, str]:
    one, two = Account(name="One"), Account(name="Two")
    db.add_all([one, two])
    db.commit()
    return one.id, two.id


def endpoint(db, types: list[str], account_id: str | None = None, url: str = "https://partner.example/events") -> str:
    row, secret = event_endpoints.create(db, EndpointChange(url=url, event_types=types, account_id=account_id))
    assert secret and event_endpoints.secret_of(row) == secret
    return row.id


def emit(db, type: str, account_id: str) -> None:
    Outbox(db).emit(type, account_id, {"CycleId": "c1"})
    db.commit()


def test_the_outbox_queues_an_event_for_each_endpoint_that_takes_it(db, accounts):
    one, two = accounts
    every = endpoint(db, ["run.failed", "cycle.installed"])
    only_one = endpoint(db, ["run.failed"], account_id=one)
    endpoint(db, ["cycle.removed"])
    emit(db, "run.failed", two)
    emit(db, "run.failed", one)
    emit(db, "cycle.paused", one)  # no endpoint takes it: nothing is written
    assert partner_events.wanted(db, "run.failed") and not partner_events.wanted(db, "cycle.paused")
    rows = db.exec(select(EventDelivery)).all()
    assert sorted((r.account_id == one, r.endpoint_id) for r in rows) == sorted(
        [(False, every), (True, every), (True, only_one)])
    listed = db.execute(event_deliveries.listing(account_id=one)).scalars().all()
    assert {r.endpoint_id for r in listed} == {every, only_one}


def test_a_delivery_is_claimed_once_and_ends_failed_at_its_bound(db, accounts):
    target = endpoint(db, ["run.failed"])
    emit(db, "run.failed", accounts[0])
    now = datetime.now(UTC)
    assert event_deliveries.due_endpoints(db, now, set(), 10) == [target]
    (claimed,) = event_deliveries.claim(db, target, 5, now, POLICY)
    assert event_deliveries.claim(db, target, 5, now, POLICY) == []  # taken: no second dispatcher gets it
    assert json.loads(claimed.body)["Id"] == claimed.event_id
    assert event_deliveries.record(db, claimed, REFUSED, POLICY) == "Pending"
    for expected in ("Pending", "Failed"):
        (claimed,) = event_deliveries.claim(db, target, 5, later(), POLICY)
        assert event_deliveries.record(db, claimed, REFUSED, POLICY) == expected
    assert event_deliveries.claim(db, target, 5, later(), POLICY) == []  # Failed: never tried again
    delivery = db.get(EventDelivery, claimed.id)
    db.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("Failed", POLICY.attempts)
    assert len(event_deliveries.attempts_of(db, [delivery.id])[delivery.id]) == POLICY.attempts


def test_a_delivery_ends_failed_once_its_age_runs_out(db, accounts):
    target = endpoint(db, ["run.failed"])
    emit(db, "run.failed", accounts[0])
    young = DeliveryPolicy(attempts=100, first_backoff=60, max_backoff=60, max_age=30, timeout=5)
    (claimed,) = event_deliveries.claim(db, target, 1, datetime.now(UTC), young)
    assert event_deliveries.record(db, claimed, REFUSED, young) == "Failed"  # its next try would be too late


def test_a_replay_sends_the_same_event_again_and_an_older_claim_decides_nothing(db, accounts):
    target = endpoint(db, ["run.failed"])
    emit(db, "run.failed", accounts[0])
    (claimed,) = event_deliveries.claim(db, target, 1, datetime.now(UTC), POLICY)
    assert event_deliveries.record(db, claimed, TAKEN, POLICY) == "Delivered"
    delivery = event_deliveries.replay(db, db.get(EventDelivery, claimed.id))
    assert (delivery.status, delivery.attempts) == ("Pending", 0)
    # An attempt under the claim from before the replay (a dispatcher that was slow) is recorded, not decisive.
    assert event_deliveries.record(db, claimed, REFUSED, POLICY) is None
    (again,) = event_deliveries.claim(db, target, 1, later(), POLICY)
    assert (again.event_id, again.body) == (claimed.event_id, claimed.body)
    assert event_deliveries.record(db, again, TAKEN, POLICY) == "Delivered"
    assert len(db.exec(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == claimed.id)).all()) == 3


def test_a_removed_endpoint_takes_its_deliveries_with_it(db, accounts):
    target = endpoint(db, ["run.failed"])
    emit(db, "run.failed", accounts[0])
    (claimed,) = event_deliveries.claim(db, target, 1, datetime.now(UTC), POLICY)
    event_endpoints.remove(db, db.get(EventEndpoint, target))
    assert event_deliveries.record(db, claimed, TAKEN, POLICY) is None
    assert db.exec(select(EventDelivery)).all() == []


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://partner.example/events", "is not an http(s) URL"),
    ("https://user:pass@partner.example/events", "must not hold credentials"),
    ("https://partner.example/events#here", "must not have a fragment"),
    ("http://169.254.169.254/latest", "169.254.169.254"),
])
def test_an_endpoint_that_is_no_place_to_send_events_is_refused(db, url, problem):
    with pytest.raises(Invalid) as refused:
        endpoint(db, ["run.failed"], url=url)
    (found,) = refused.value.problems
    assert found.path == "$.Url" and problem in found.message
    with pytest.raises(Invalid) as refused:
        endpoint(db, ["run.failed"], account_id="no-such-account")
    assert [p.path for p in refused.value.problems] == ["$.AccountId"]


def test_retention_purges_events_that_are_done_and_keeps_those_still_pending(db, accounts):
    target = endpoint(db, ["run.failed"])
    for _ in range(2):
        emit(db, "run.failed", accounts[0])
    (claimed,) = event_deliveries.claim(db, target, 1, datetime.now(UTC), POLICY)
    assert event_deliveries.record(db, claimed, TAKEN, POLICY) == "Delivered"
    assert event_deliveries.purge(db, datetime.now(UTC) - timedelta(days=1)) == 0  # not old enough
    assert event_deliveries.purge(db, later()) == 1  # the delivered one; the pending one stays
    (left,) = db.exec(select(EventDelivery)).all()
    assert left.status == "Pending" and left.event_id != claimed.event_id
    assert db.exec(select(DeliveryAttempt)).all() == []


def test_a_claim_takes_no_more_than_it_asks_for_oldest_first(db, accounts):
    target = endpoint(db, ["run.failed"])
    for _ in range(3):
        emit(db, "run.failed", accounts[0])
    oldest = [row.id for row in db.exec(select(EventDelivery).order_by(EventDelivery.next_attempt_at))]
    now = later()
    assert [c.id for c in event_deliveries.claim(db, target, 1, now, POLICY)] == oldest[:1]
    assert sorted(c.id for c in event_deliveries.claim(db, target, 5, now, POLICY)) == sorted(oldest[1:])
