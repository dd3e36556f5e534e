"""Publishing a connector's Draft, and moving cycle steps to the Live release.

Steps are pinned to a release. A Minor publish moves the steps on the old Live release to the
new one (refused if that would break a cycle: such a change is Major); a Major publish leaves
them on the now Deprecated release, their cycles flagged, until each is upgraded while stopped
(with the mapping changes the new releases need, store/upgrades.py, in the same transaction).
Account connectors follow the Live release on every publish: data on demand, credential tests
and OAuth consent use the connector as it is now (the steps' calls use their own release).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, select

from connectors import Problem
from store import cycles, partner_webhooks, upgrades
from store.connections import load_release
from store.connectors import at_once_refused, draft_release, live_release, published_release
from store.problems import Conflict, Invalid
from store.step_graph import StepGraph
from store.tables import AccountConnector, Connector, ConnectorRelease, Cycle, CycleStep
from store.template_spec import MappingSpec, StepSpec
from store.templates import check_mapping
from store.upgrades import MappingChanges


@dataclass(frozen=True)
class Move:
    """A cycle step that would go from its release to its connector's Live one."""

    step: CycleStep
    connector: str
    source: ConnectorRelease
    target: ConnectorRelease


def publish(db: Session, connector: Connector, major: bool) -> ConnectorRelease:
    """Make the Draft Live and the Live release Deprecated. Conflict when there is no Draft or
    its version is published already (templates name releases by version); Invalid, listing
    what breaks, when a Minor publish would break a cycle; nothing changes then."""
    draft = draft_release(db, connector.id)
    if draft is None:
        raise Conflict(f"connector '{connector.name}' has no Draft to publish: upload the connector first")
    taken = published_release(db, connector.id, draft.version)
    if taken is not None:
        raise Conflict(f"connector '{connector.name}' has a {taken.status} release {draft.version} already: "
                       "give the Draft a Version of its own, and upload it again",
                       [Problem("$.Version", f"version {draft.version} is taken")])
    with at_once_refused(db, f"connector '{connector.name}'"):
        old = live_release(db, connector.id)
        if old is not None:
            if not major:
                _move_all(db, old, draft)
            old.status = "Deprecated"
            db.flush()  # one Live at a time
        draft.status = "Live"
        _follow(db, connector.id, draft)
        db.commit()
    return draft


def _move_all(db: Session, old: ConnectorRelease, new: ConnectorRelease) -> None:
    """Every step on `old` to `new`, unless that breaks a cycle (Invalid, naming the cycles)."""
    on_old = db.exec(select(CycleStep).where(CycleStep.release_id == old.id)).all()
    by_cycle: dict[str, list[CycleStep]] = defaultdict(list)
    for step in on_old:
        by_cycle[step.cycle_id].append(step)
    problems = []
    for cycle_id, moved in by_cycle.items():
        problems += [Problem(f"cycles/{cycle_id}/{p.path}", p.message)
                     for p in breaks(db, cycle_id, {s.id: new.id for s in moved})]
    if problems:
        raise Invalid(problems)
    for step in on_old:
        step.release_id = new.id


def _follow(db: Session, connector_id: str, live: ConnectorRelease) -> None:
    """The connector's account connectors to the Live release, except one whose Authentication
    entry the release lacks: it stays on its release, which goes on working."""
    names = {a.Name for a in load_release(db, live.id).Authentication}
    rows = db.exec(select(AccountConnector).where(AccountConnector.connector_id == connector_id)).all()
    for row in rows:
        if row.authentication is None or row.authentication in names:
            row.release_id = live.id
    if any(load_release(db, r.release_id).PartnerWebhook or r.partner_webhook_key for r in rows):
        partner_webhooks.rekey(db, connector_id)  # its AccountProperty may be another one now


def moves(db: Session, cycle_ids: list[str]) -> dict[str, list[Move]]:
    """For each of these cycles that has any: its steps on a Deprecated release, each with the
    Live release it would move to."""
    rows = db.exec(
        select(CycleStep, ConnectorRelease, Connector)
        .join(ConnectorRelease, ConnectorRelease.id == CycleStep.release_id)
        .join(Connector, Connector.id == ConnectorRelease.connector_id)
        .where(col(CycleStep.cycle_id).in_(cycle_ids), ConnectorRelease.status == "Deprecated")
        .order_by(CycleStep.position)
    ).all()
    found: dict[str, list[Move]] = defaultdict(list)
    for step, release, connector in rows:
        live = live_release(db, connector.id)
        if live is not None:
            found[step.cycle_id].append(Move(step, connector.name, release, live))
    return dict(found)


def upgrade(db: Session, cycle: Cycle, changes: MappingChanges | None = None) -> list[Move]:
    """Move the cycle's steps to their connectors' Live releases, with the mapping `changes`
    (fields renamed, mappings set or deleted), in one transaction; Invalid, listing what is
    wrong with the changes or what would break, and nothing changes. The caller makes sure the
    cycle is not active."""
    pending = moves(db, [cycle.id]).get(cycle.id, [])
    rows = cycles.steps(db, cycle.id)
    mapping_rows = {row.id: cycles.mappings(db, row.id) for row in rows}
    before = [upgrades.StepState.of(row, mapping_rows[row.id]) for row in rows]
    after, problems = upgrades.changed(before, changes or MappingChanges(), {m.step.id for m in pending})
    if problems:
        raise Invalid(problems)
    specs = [cycles.spec_of(s.row.type, s.document, s.mappings) for s in after]
    problems = breaks(db, cycle.id, {m.step.id: m.target.id for m in pending}, specs)
    if problems:
        raise Invalid(problems)
    upgrades.save(db, before, after, mapping_rows)
    for move in pending:
        move.step.release_id = move.target.id
    db.commit()
    return pending


def breaks(db: Session, cycle_id: str, releases: dict[str, str], changed: list[StepSpec] | None = None
           ) -> list[Problem]:
    """What moving these steps (cycle step id -> release id), their mappings `changed` to these
    (in step order), would break in the cycle: a method the new release lacks, a mapped field
    its method lacks, a field a later step reads that its source step's method no longer gives.
    Each Path names the step (and the mapping)."""
    rows = cycles.steps(db, cycle_id)
    specs = [cycles.step_spec(row, cycles.mappings(db, row.id)) for row in rows]
    before = set(_problems(db, cycle_id, rows, specs, {}))
    return [p for p in _problems(db, cycle_id, rows, changed or specs, releases) if p not in before]


def _problems(db: Session, cycle_id: str, rows: list[CycleStep], specs: list[StepSpec],
              releases: dict[str, str]) -> list[Problem]:
    template = cycles.template_of(db, cycle_id).model_copy(update={"Steps": specs})
    methods = cycles.methods(db, rows, releases)
    graph = StepGraph.of(template)
    found = []
    for row, spec in zip(rows, specs, strict=True):
        if row.method is not None and row.release_id is not None and methods[row.template_step_id] is None:
            release = db.get(ConnectorRelease, releases.get(row.id, row.release_id))
            found.append(Problem(f"steps/{row.id}.Method", f"release {release.version} of '{row.connector_name}' "
                                                           f"has no method '{row.method}'"))
        for where, mapping in _sources(spec):
            found += check_mapping(f"steps/{row.id}/{where}", graph, spec, mapping, methods)
    return found


def _sources(step: StepSpec) -> list[tuple[str, MappingSpec]]:
    """The step's mappings, each with its path: a field mapping by its field, as the API names it."""
    if step.Type == "Method":
        return [(f"fieldmappings/{m.Field}", m) for m in step.FieldMappings]
    return step.sources()
