"""Demo lookups of the leads service: the lead sources a lead may name (a connector trigger),
and the custom fields leads have (a custom-fields lookup). The leads endpoint keeps whatever
custom fields it is sent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException

SOURCES = [{"id": "src-web", "name": "Web form"}, {"id": "src-fair", "name": "Trade fair"},
           {"id": "src-referral", "name": "Referral"}]
# Described in the service's own words: the connector's lookup method maps them to Cyclewright's.
FIELDS = [
    {"path": "custom.colour", "label": "Favourite colour", "type": "text", "optional": False,
     "choices": ["red", "green", "blue"]},
    {"path": "custom.budget", "label": "Budget", "type": "integer", "optional": True},
]


def lookups_router(token: str) -> APIRouter:
    router = APIRouter()

    def check(authorization: str | None) -> None:
        if authorization != f"Bearer {token}":
            raise HTTPException(401, "bad token")

    @router.get("/leads/sources")
    def sources(authorization: Annotated[str | None, Header()] = None) -> dict:
        check(authorization)
        return {"sources": SOURCES}

    @router.get("/leads/fields")
    def fields(authorization: Annotated[str | None, Header()] = None) -> dict:
        check(authorization)
        return {"fields": FIELDS}

    return router
