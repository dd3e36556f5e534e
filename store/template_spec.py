"""The template JSON format (DESIGN §3): steps that call connector methods, joined by mappings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from store import text

MappingType = Literal["StaticValue", "StepField", "Ignore"]
OnError = Literal["Ignore", "Retry", "StopTransaction", "StopCycle"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MappingSpec(_Strict):
    """How one SystemField of a step gets its value."""

    MappingType: MappingType
    Value: text.Value | None = None
    SourceStep: text.Name | None = None
    SourceField: text.Name | None = None


class FieldMappingSpec(MappingSpec):
    Field: text.Name


class StepSpec(_Strict):
    Id: text.Name
    Name: text.Name | None = None
    Type: Literal["Method"] = "Method"
    Connector: text.Name
    Version: text.Name | None = None
    Method: text.Name
    Next: text.Name | None = None
    OnError: OnError = "StopTransaction"
    FieldMappings: list[FieldMappingSpec] = []

    def exits(self) -> list[tuple[str, str]]:
        """Where a record can go from this step: (exit property, target step id) for each exit set."""
        return [("Next", self.Next)] if self.Next is not None else []


class TemplateSpec(_Strict):
    Name: text.Name
    Description: text.Value = ""
    CollectionSplit: Literal["First", "All"] = "First"
    Steps: list[StepSpec] = Field(min_length=1)
