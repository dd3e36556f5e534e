from __future__ import annotations

from fastapi import APIRouter

from api.auth import Claims
from api.dependencies import CurrentAccount, Db
from api.errors import COMMON, not_found, responses
from store import cycles
from store.tables import Cycle, CycleStep, FieldMapping
from store.template_spec import MappingSpec

router = APIRouter(prefix="/v1.0/steps", tags=["steps"], responses=responses(*COMMON))


class FieldMappingOut(MappingSpec):
    Field: str


def view(m: FieldMapping) -> FieldMappingOut:
    return FieldMappingOut.model_construct(Field=m.field, **MappingSpec.model_validate(m.mapping).model_dump())


def _get(db: Db, account_id: str, step_id: str) -> CycleStep:
    step = db.get(CycleStep, step_id)
    if step is None or db.get(Cycle, step.cycle_id).account_id != account_id:
        raise not_found("step", step_id)
    return step


@router.get("/{step_id}/fieldmappings", summary="A step's field mappings")
def list_mappings(step_id: str, account: CurrentAccount, db: Db) -> list[FieldMappingOut]:
    return [view(m) for m in cycles.mappings(db, _get(db, account.id, step_id).id)]


@router.put("/{step_id}/fieldmappings/{field}", summary="Set how a step's field gets its value",
            description="With an account token, only a mapping the template marked UserConfigurable.")
def set_mapping(step_id: str, field: str, body: MappingSpec, account: CurrentAccount, claims: Claims,
                db: Db) -> FieldMappingOut:
    step = _get(db, account.id, step_id)
    return view(cycles.set_mapping(db, step, field, body, by_account="account" in claims))
