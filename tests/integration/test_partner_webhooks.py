"""Partner webhooks in the store: the key each account connector keeps (and keeps after a publish
that routes by another property), the Webhook steps an event reaches, and one commit for a
request's events and its signature."""

from __future__ import annotations

import copy

from sqlmodel import select

from store import connectors, cycles, inbound, partner_webhooks, releases, templates
from store.crypto import encrypt_json
from store.signatures import Signature
from store.tables import Account, AccountConnector, Connector, Cycle, InboundEvent
from tests.e2e.test_partner_webhooks import PORTALS

TEMPLATE = {"Name": "Portal events", "Steps": [
    {"Id": "event", "Type": "Webhook", "Connector": PORTALS["Name"], "Method": "contact-created"}]}


def install(db, name: str, properties: dict[str, str], template) -> tuple[AccountConnector, Cycle]:
    """An account with the connector installed with these properties, and a cycle bound to it, active."""
    account = Account(name=name)
    db.add(account)
    connector = db.exec(select(Connector).where(Connector.name == PORTALS["Name"])).one()
    release = connectors.live_release(db, connector.id)
    row = AccountConnector(account_id=account.id, connector_id=connector.id, release_id=release.id, name=name,
                           properties=encrypt_json(properties))
    partner_webhooks.keep_key(row, connectors.spec_of(release), properties)
    db.add(row)
    db.commit()
    cycle = cycles.install(db, template, account.id, None, {})
    cycle.status = "Active"
    db.commit()
    return row, cycle


def webhook_step(db, cycle: Cycle) -> str:
    return cycles.steps(db, cycle.id)[0].id


def test_events_reach_only_the_webhook_steps_of_the_accounts_with_their_key(db, engine):
    connector, _ = connectors.upload(db, PORTALS)
    template = templates.create(db, templates.parse_template(TEMPLATE))
    first, first_cycle = install(db, "First", {"PortalId": "101"}, template)
    second, second_cycle = install(db, "Second", {"PortalId": "202"}, template)
    also_first = cycles.install(db, template, first.account_id, "Installed again", {})
    assert first.partner_webhook_key == "101" and second.partner_webhook_key == "202"

    with engine.connect() as connection:
        found = partner_webhooks.targets(connection, connector.id, {"101", "202", "999"})
    assert found == {
        "101": sorted([(first_cycle.id, webhook_step(db, first_cycle)), (also_first.id, webhook_step(db, also_first))]),
        "202": [(second_cycle.id, webhook_step(db, second_cycle))]}

    # A request's events and its signature in one commit; the same signature again queues nothing.
    events = [inbound.Event(first_cycle.id, webhook_step(db, first_cycle), '{"portalId": 101}'),
              inbound.Event(also_first.id, webhook_step(db, also_first), '{"portalId": 101}')]
    signed = Signature(f"partner:{connector.id}", "ab" * 32, 1_800_000_000)
    with engine.connect() as connection:
        assert partner_webhooks.deliver(connection, events, signed) == ["queued", "closed"]  # never activated
    with engine.connect() as connection:
        assert partner_webhooks.deliver(connection, events, signed) is None
    queued = db.exec(select(InboundEvent)).all()
    assert [(e.cycle_id, e.body) for e in queued] == [(first_cycle.id, '{"portalId": 101}')]


def test_a_publish_that_routes_by_another_property_keys_the_account_connectors_again(db):
    connector, _ = connectors.upload(db, PORTALS)
    template = templates.create(db, templates.parse_template(TEMPLATE))
    row, _ = install(db, "Hub", {"PortalId": "101", "BaseUrl": "https://hub.example"}, template)

    by_url = copy.deepcopy(PORTALS) | {"Version": "2.0"}
    by_url["PartnerWebhook"]["AccountProperty"] = "BaseUrl"
    connectors.upload(db, by_url)
    releases.publish(db, connector, major=True)
    db.refresh(row)
    assert row.partner_webhook_key == "https://hub.example"

    without = copy.deepcopy(PORTALS) | {"Version": "3.0"}
    del without["PartnerWebhook"]
    connectors.upload(db, without)
    releases.publish(db, connector, major=True)
    db.refresh(row)
    assert row.partner_webhook_key is None
