"""The template JSON format (DESIGN §3): steps that call connector methods, joined by mappings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MappingType = Literal["StaticValue", "StepField", "Ignore"]
OnError = Literal["Ignore", "Retry", "StopTransaction", "StopCycle"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MappingSpec(_Strict):
    """How one SystemField of a step gets its value."""

    MappingType: MappingType
    Value: str | None = None
    SourceStep: str | None = None
    SourceField: str | None = None


class FieldMappingSpec(MappingSpec):
    Field: str


class StepSpec(_Strict):
    Id: str = Field(min_length=1)
    Name: str | None = None
    Type: Literal["Method"] = "Method"
    Connector: str
    Version: str | None = None
    Method: str
    Next: str | None = None
    OnError: OnError = "StopTransaction"
    FieldMappings: list[FieldMappingSpec] = []

    def exits(self) -> list[tuple[str, str]]:
        """Where a record can go from this step: (exit property, target step id) for each exit set."""
        return [("Next", self.Next)] if self.Next is not None else []


class TemplateSpec(_Strict):
    Name: str = Field(min_length=1)
    Description: str = ""
    CollectionSplit: Literal["First", "All"] = "First"
    Steps: list[StepSpec] = Field(min_length=1)
