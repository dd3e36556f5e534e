"""Moving cycles to their connectors' Live releases: which can move, and the move itself, with
the mapping changes the new releases need (store/upgrades.py) in the same transaction."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import select

from api.auth import Claims
from api.dependencies import CurrentAccount, Db, Temporal
from api.errors import COMMON, ApiError, responses
from api.routers.cycles import TEMPORAL_ERRORS, CycleOut, fresh_view, get_cycle, still_active
from store import releases, text
from store.problems import Invalid
from store.tables import Cycle
from store.template_spec import MAX_MAPPINGS, MappingSpec
from store.upgrades import MappingChanges, MappingDelete, MappingSet, Rename

router = APIRouter(prefix="/v1.0/cycles", tags=["cycles"], responses=responses(*COMMON))


class StepMoveOut(BaseModel):
    StepId: str
    TemplateStepId: str
    Connector: str
    FromVersion: str
    ToVersion: str
    FromReleaseId: str
    ToReleaseId: str


class UpgradeableOut(BaseModel):
    Id: str
    Name: str
    Status: str
    Steps: list[StepMoveOut] = Field(description="what an upgrade would move")


class RenameIn(BaseModel):
    StepId: text.Name = Field(description="the cycle step whose method's field the Live release renames")
    From: text.Name = Field(description="the field's name (a SystemField or a parameter) in the step's release")
    To: text.Name = Field(description="its name in the Live release")


class StepFieldIn(BaseModel):
    StepId: text.Name = Field(description="a cycle step")
    Field: text.Name = Field(description="the SystemField or parameter it maps")


class StepMappingIn(MappingSpec):
    StepId: text.Name = Field(description="a cycle step")
    Field: text.Name = Field(description="the SystemField or parameter to map")


class UpgradeIn(BaseModel):
    """What the Live releases need changed in the cycle's mappings, made with the move."""

    Renames: list[RenameIn] = Field(
        default=[], max_length=MAX_MAPPINGS,
        description="fields the Live release renames: the step's mapping of each, and every mapping that reads "
                    "it from the step (StepField, ValueList, Expression, a Decision's operands…), follow it")
    FieldMappings: list[StepMappingIn] = Field(default=[], max_length=MAX_MAPPINGS,
                                               description="mappings to set (after the renames)")
    DeleteFieldMappings: list[StepFieldIn] = Field(default=[], max_length=MAX_MAPPINGS,
                                                   description="mappings to delete (partner token)")

    def changes(self, by_account: bool) -> MappingChanges:
        return MappingChanges(
            renames=[Rename(r.StepId, r.From, r.To) for r in self.Renames],
            sets=[MappingSet(m.StepId, m.Field, MappingSpec.model_validate(m.model_dump(exclude={"StepId", "Field"})))
                  for m in self.FieldMappings],
            deletes=[MappingDelete(d.StepId, d.Field) for d in self.DeleteFieldMappings],
            by_account=by_account)


@router.get("/upgradeable", summary="The account's cycles with a step on a Deprecated connector release")
def list_upgradeable(account: CurrentAccount, db: Db) -> list[UpgradeableOut]:
    rows = db.exec(select(Cycle).where(Cycle.account_id == account.id).order_by(Cycle.created_at)).all()
    pending = releases.moves(db, [c.id for c in rows])
    return [UpgradeableOut(Id=c.id, Name=c.name, Status=c.status, Steps=[
        StepMoveOut(StepId=m.step.id, TemplateStepId=m.step.template_step_id, Connector=m.connector,
                    FromVersion=m.source.version, ToVersion=m.target.version, FromReleaseId=m.source.id,
                    ToReleaseId=m.target.id) for m in pending[c.id]])
        for c in rows if c.id in pending]


@router.post("/{cycle_id}/upgrade", summary="Move a stopped cycle's steps to their connectors' Live releases",
             responses=TEMPORAL_ERRORS)
async def upgrade(cycle_id: str, account: CurrentAccount, claims: Claims, db: Db, client: Temporal,
                  body: UpgradeIn | None = None) -> CycleOut:
    """The body's mapping changes are made with the move, in one transaction, and checked against
    the Live releases. 409 while the cycle is active (or paused: its workflow runs). 422 when a
    change is wrong (`$.Renames[i].From`, …) or the Live releases would break the cycle, each break
    with its Path (`steps/{step id}.Method`, `steps/{step id}/fieldmappings/{field}.Field|.SourceField|
    .Expression`, `steps/{step id}/Condition.Left.SourceField`, …); nothing changes then."""
    cycle = await run_in_threadpool(get_cycle, db, account.id, cycle_id)
    if await still_active(db, client, cycle):
        raise ApiError(409, f"the cycle is {cycle.status}: deactivate it before upgrading it")
    changes = (body or UpgradeIn()).changes(by_account="account" in claims)
    try:
        await run_in_threadpool(releases.upgrade, db, cycle, changes)
    except Invalid as err:
        raise ApiError(422, "The cycle cannot move to its connectors' Live releases: change what breaks first "
                            "(in this request: Renames, FieldMappings, DeleteFieldMappings).", err.problems) from None
    return await run_in_threadpool(fresh_view, db, cycle)
