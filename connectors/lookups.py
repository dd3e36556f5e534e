"""Lookups that run against an authenticated account connector (DESIGN §2, after Cyclr).

A **trigger** lists the values a parameter or field with its `TriggerName` may take: its method's
response read at `IdentifierKey` (the value) and `HumanReadableKey` (its label).

A **custom-fields lookup** (`RequestFormat`/`ResponseFormat` `CustomFieldsLookupMethod`) is a
method whose records, mapped by its ResponseFormat, each describe one more field of that format
for one account connector: `field_location` (its ConnectorField), `display_name`, `data_type`,
`is_optional` and `values` (Cyclr's `cyclr_`-prefixed SystemFields are read too). A record's
field takes the SystemField of its location inside the record: `[leads].custom.score` is
`custom.score`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator

from connectors.paths import parse_path
from connectors.spec import Connector, FieldDataType, FieldSpec, Format, Method
from connectors.validation import Problem

FormatKind = Literal["RequestFormat", "ResponseFormat"]
DATA_TYPES = {t.lower(): t for t in get_args(FieldDataType)}


def trigger_reader(connector: Connector, name: str) -> tuple[Connector, str]:
    """The connector with the trigger's method reading only its values and labels (records of
    `Value` and `Name`), and that method's UniqueIdentifier. KeyError: no trigger of that name."""
    trigger = connector.trigger(name)
    method = connector.method(trigger.Method)
    pairs = Format(Fields=[FieldSpec(ConnectorField=trigger.IdentifierKey, SystemField="Value", IsOptional=True),
                           FieldSpec(ConnectorField=trigger.HumanReadableKey, SystemField="Name", IsOptional=True)])
    reading = method.model_copy(update={"ResponseFormat": pairs})
    return _with_method(connector, reading), method.UniqueIdentifier


def trigger_values(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each value with its label, in the order listed; entries without a value are no choice."""
    return [{"Value": r["Value"], "Name": r.get("Name")} for r in records if r.get("Value") not in (None, "")]


class _Described(BaseModel):
    """One lookup record: the description of a custom field."""

    field_location: str
    display_name: str | None = None
    data_type: FieldDataType = "Text"
    is_optional: bool = True
    values: list[Any] = []

    @field_validator("field_location")
    @classmethod
    def _path(cls, value: str) -> str:
        parse_path(value)
        return value

    @field_validator("data_type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return DATA_TYPES.get(value.lower(), value) if isinstance(value, str) else value

    @field_validator("data_type", "is_optional", "values", mode="before")
    @classmethod
    def _absent(cls, value: Any, info: ValidationInfo) -> Any:
        """A lookup that maps a property its API left out gives null: the default."""
        return cls.model_fields[info.field_name].default if value is None else value

    def field(self) -> FieldSpec:
        return FieldSpec(ConnectorField=self.field_location, SystemField=system_field(self.field_location),
                         DisplayField=self.display_name or self.field_location, DataType=self.data_type,
                         IsOptional=self.is_optional, Values=self.values)


def system_field(location: str) -> str:
    """A custom field's SystemField: its location inside the record (after the last array)."""
    path = parse_path(location)
    last_array = max((i for i, s in enumerate(path) if s.is_array), default=-1)
    inside = path[last_array + 1:] or path[-1:]
    return ".".join(s.name for s in inside)


def custom_fields(method: Method, kind: FormatKind,
                  records: Sequence[Mapping[str, Any]]) -> tuple[list[FieldSpec], list[Problem]]:
    """The fields `records` describe for the method's `kind`, and the records skipped, each with why."""
    own = method.request_fields if kind == "RequestFormat" else method.response_fields
    names, locations = {f.SystemField for f in own}, {f.ConnectorField: f.SystemField for f in own}
    fields, skipped = [], []
    for i, record in enumerate(records):
        where = f"{kind}[{i}]"
        try:
            field = _Described.model_validate({_unprefixed(k): v for k, v in record.items()}).field()
        except ValidationError as err:
            skipped.append(Problem(where, "; ".join(f"{'.'.join(map(str, e['loc']))}: "
                                                    f"{e['msg'].removeprefix('Value error, ')}" for e in err.errors())))
            continue
        if field.ConnectorField in locations:
            skipped.append(Problem(where, f"the method's field '{locations[field.ConnectorField]}' is at "
                                          f"'{field.ConnectorField}' already"))
        elif field.SystemField in names:
            skipped.append(Problem(where, f"the method has a field '{field.SystemField}' already"))
        else:
            names.add(field.SystemField)
            locations[field.ConnectorField] = field.SystemField
            fields.append(field)
    return fields, skipped


def _unprefixed(name: str) -> str:
    return name.removeprefix("cyclr_")


def with_custom_fields(connector: Connector, found: Mapping[str, Mapping[FormatKind, Sequence[FieldSpec]]]
                       ) -> Connector:
    """The connector with each method's custom fields (by UniqueIdentifier) added to its formats;
    where one has the SystemField or the ConnectorField of the release's own, the release's stays."""
    methods = []
    for method in connector.Methods:
        extra = found.get(method.UniqueIdentifier, {})
        if any(extra.values()):
            method = method.model_copy(update={kind: _extended(getattr(method, kind), fields)
                                               for kind, fields in extra.items() if fields})
        methods.append(method)
    return connector.model_copy(update={"Methods": methods})


def _extended(fmt: Format | None, fields: Sequence[FieldSpec]) -> Format:
    fmt = fmt or Format()
    own = {f.SystemField for f in fmt.Fields} | {f.ConnectorField for f in fmt.Fields}
    added = [f for f in fields if f.SystemField not in own and f.ConnectorField not in own]
    return fmt.model_copy(update={"Fields": [*fmt.Fields, *added]})


def _with_method(connector: Connector, method: Method) -> Connector:
    return connector.model_copy(update={"Methods": [method if m.UniqueIdentifier == method.UniqueIdentifier else m
                                                    for m in connector.Methods]})


def lookup_methods(method: Method) -> dict[FormatKind, str]:
    """The method's custom-fields lookups, by the format they add fields to."""
    return {kind: fmt.CustomFieldsLookupMethod for kind in ("RequestFormat", "ResponseFormat")
            if (fmt := getattr(method, kind)) is not None and fmt.CustomFieldsLookupMethod}
