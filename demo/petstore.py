"""The OpenAPI Petstore example (tests/fixtures/openapi/petstore.yaml), served under /petstore,
so that a connector imported from that document can be called: list, create, show."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Pet(BaseModel):
    id: int
    name: str
    tag: str | None = None


def petstore_router() -> APIRouter:
    router = APIRouter(prefix="/petstore")
    pets: dict[int, Pet] = {1: Pet(id=1, name="Rex", tag="dog"), 2: Pet(id=2, name="Tom", tag="cat"),
                            3: Pet(id=3, name="Nemo")}

    @router.get("/pets")
    def list_pets(limit: Annotated[int, Query(ge=1, le=100)] = 100) -> list[Pet]:
        return list(pets.values())[:limit]

    @router.post("/pets", status_code=201)
    def create_pets(pet: Pet) -> Response:
        pets[pet.id] = pet
        return Response(status_code=201)  # the document's "Null response"

    @router.get("/pets/{pet_id}", response_model=None)
    def show_pet_by_id(pet_id: str) -> Pet | JSONResponse:
        pet = pets.get(int(pet_id)) if pet_id.isdigit() else None
        if pet is None:
            return JSONResponse({"code": 404, "message": f"no pet {pet_id}"}, status_code=404)
        return pet

    return router
