"""The template JSON format (DESIGN §3): steps joined by exits, fields filled by mappings."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.spec import FieldDataType
from connectors.types import as_type
from store import patterns, text

MappingType = Literal["StaticValue", "StepField", "Variable", "ValueList", "Expression", "Ignore"]
ErrorPolicy = Literal["Ignore", "Retry", "StopTransaction", "StopCycle"]
Split = Literal["First", "All", "None"]
StepType = Literal["Method", "Decision", "Delay", "WaitUntil", "Storage", "Webhook"]
STEP_TYPES = get_args(StepType)
Operator = Literal["Equals", "NotEquals", "Exists", "NotExists", "GreaterThan", "LessThan", "Contains", "Matches"]
UNARY = {"Exists", "NotExists"}
MAX_DELAY_SECONDS = 8 * 7 * 24 * 3600  # eight weeks
STORAGE_KEY_LENGTH = 128
VALUE_LIST_ENTRIES = 1_000
# Bounds on a template, so that checking one (and planning its runs) stays small work: both
# checks are linear in steps and mappings (bench/graph.py), and the nesting of any JSON is
# bounded by connectors/nesting.py.
MAX_STEPS = 1_000
MAX_MAPPINGS = 500  # field mappings of one step
VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MappingSpec(_Strict):
    """Where a value comes from: a request field, a parameter, or a decision's operand."""

    MappingType: MappingType
    Value: text.Value | None = Field(default=None, description="StaticValue: the value")
    SourceStep: text.Name | None = Field(default=None, description="StepField, ValueList: an earlier step's Id")
    SourceField: text.Name | None = Field(default=None, description="StepField, ValueList: its SystemField")
    Variable: Annotated[str, Field(max_length=text.NAME_LENGTH, pattern=VARIABLE_NAME)] | None = Field(
        default=None, description="Variable: a cycle variable, else an account variable, of this name")
    Values: dict[text.Value, text.Value] | None = Field(
        default=None, max_length=VALUE_LIST_ENTRIES, description="ValueList: source value -> value")
    Default: text.Value | None = Field(default=None, description="ValueList: the value when no entry matches")
    Expression: text.Value | None = Field(
        default=None, description="Expression: text with {{StepId.Field}} and {{StepId.Field format=…}}")
    DataType: FieldDataType | None = Field(
        default=None, description="convert the value to this type (a target field's own type otherwise)")
    UserConfigurable: bool = Field(default=False, description="an account may set this mapping itself")

    @model_validator(mode="after")
    def _complete(self) -> MappingSpec:
        """Each type's own properties, so a half-written mapping is refused where it is written.
        A user-configurable mapping may leave its value for the account to fill."""
        needed = {"StepField": ["SourceStep", "SourceField"], "ValueList": ["SourceStep", "SourceField", "Values"],
                  "Variable": ["Variable"], "Expression": ["Expression"]}.get(self.MappingType, [])
        missing = [n for n in needed if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.MappingType} mapping needs {' and '.join(missing)}")
        if self.MappingType == "StaticValue" and self.Value is None and not self.UserConfigurable:
            raise ValueError("a StaticValue mapping needs a Value (or UserConfigurable: true)")
        if self.static is not None and self.DataType:
            _converts(self.Value, self.DataType)  # else every transaction would fail the same way
        return self

    @property
    def static(self) -> str | None:
        """The value when it is the same for every transaction (a StaticValue's); else None."""
        return self.Value if self.MappingType == "StaticValue" else None

    @property
    def is_set(self) -> bool:
        """False for a user-configurable mapping whose value the account has not given yet."""
        return not (self.MappingType == "StaticValue" and self.Value is None)


def _converts(value: str, data_type: str) -> None:
    try:
        as_type(value, data_type)
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not a valid {data_type}") from None


class FieldMappingSpec(MappingSpec):
    Field: text.Name


class _Step(_Strict):
    Id: text.Name
    Name: text.Name | None = None
    OnError: ErrorPolicy | None = Field(
        default=None, description="what a failure does; absent: the transaction ends Errored")
    Next: text.Name | None = None

    def exits(self) -> list[tuple[str, str]]:
        """Where a record can go from this step: (exit property, target step id) for each exit set."""
        return [("Next", self.Next)] if self.Next is not None else []

    def sources(self) -> list[tuple[str, MappingSpec]]:
        """The step's mappings, with the JSON path (from the step) of each."""
        return []


class MethodStep(_Step):
    """A connector method: the trigger's records become transactions; a later step calls once a transaction."""

    Type: Literal["Method"] = "Method"
    Connector: text.Name
    Version: text.Name | None = None
    Method: text.Name
    FieldMappings: list[FieldMappingSpec] = Field(default=[], description=f"at most {MAX_MAPPINGS}")
    CollectionSplit: Split | None = Field(
        default=None, description="overrides the template's for the records this step returns")
    Script: str | None = Field(default=None, max_length=100_000,
                               description="JavaScript event handlers for this step's calls (after the connector's "
                                           "and the method's)")

    def sources(self) -> list[tuple[str, MappingSpec]]:
        return [(f"FieldMappings[{i}]", m) for i, m in enumerate(self.FieldMappings)]

    @field_validator("FieldMappings", mode="before")
    @classmethod
    def _few_enough_mappings(cls, value: Any) -> Any:
        return _at_most(value, MAX_MAPPINGS, "field mappings", "a step")

    @model_validator(mode="wrap")
    @classmethod
    def _known_type(cls, data: Any, handler: Any) -> MethodStep:
        # The union tags an unknown Type as a Method: refuse it here, at $.Steps[i].Type, and
        # not also for the Connector and Method such a step never had.
        if isinstance(data, dict) and data.get("Type", "Method") != "Method":
            _TypeOnly.model_validate({"Type": data["Type"]})
        return handler(data)


class _TypeOnly(BaseModel):
    Type: StepType


class Condition(_Strict):
    Left: MappingSpec
    Operator: Operator
    # Checked even when absent, so that a missing operand is reported at its own path.
    Right: MappingSpec | None = Field(default=None, validate_default=True)
    DataType: FieldDataType | None = Field(
        default=None, description="compare as this type; the Left field's own type otherwise")

    @field_validator("Right")
    @classmethod
    def _operand(cls, right: MappingSpec | None, info: ValidationInfo) -> MappingSpec | None:
        operator = info.data.get("Operator")
        if operator is None:  # refused already, for itself
            return right
        if operator in UNARY and right is not None:
            raise ValueError(f"{operator} takes no Right operand")
        if operator not in UNARY and right is None:
            raise ValueError(f"{operator} needs a Right operand")
        if operator == "Matches":
            for pattern in _static_values(right):
                if (problem := patterns.problem(pattern)) is not None:
                    raise ValueError(problem)
        return right


def _static_values(mapping: MappingSpec) -> list[str]:
    """The values a mapping can give, where they are in the template: a StaticValue's, a ValueList's."""
    if mapping.MappingType == "StaticValue":
        return [mapping.Value or ""]
    if mapping.MappingType == "ValueList":
        return [*(mapping.Values or {}).values(), *([mapping.Default] if mapping.Default is not None else [])]
    return []


class DecisionStep(_Step):
    """Routes each transaction to TrueNext or FalseNext (an absent exit ends it there)."""

    Type: Literal["Decision"]
    Condition: Condition
    TrueNext: text.Name | None = None
    FalseNext: text.Name | None = None

    @field_validator("Next")
    @classmethod
    def _no_next(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("a Decision goes on by TrueNext and FalseNext, not Next")
        return value

    def exits(self) -> list[tuple[str, str]]:
        return [(name, target) for name, target in (("TrueNext", self.TrueNext), ("FalseNext", self.FalseNext))
                if target is not None]

    def sources(self) -> list[tuple[str, MappingSpec]]:
        both = [("Condition.Left", self.Condition.Left)]
        return both + ([("Condition.Right", self.Condition.Right)] if self.Condition.Right else [])


class DelayStep(_Step):
    Type: Literal["Delay"]
    Seconds: int = Field(ge=1, le=MAX_DELAY_SECONDS, description="from a second to eight weeks")


class WaitUntilStep(_Step):
    """Holds each transaction until a date: a fixed one, or a DateTime field of its record."""

    Type: Literal["WaitUntil"]
    Until: MappingSpec

    @field_validator("Until")
    @classmethod
    def _date(cls, until: MappingSpec) -> MappingSpec:
        if until.static is not None and not until.DataType:
            _converts(until.static, "DateTime")
        return until

    def sources(self) -> list[tuple[str, MappingSpec]]:
        return [("Until", self.Until)]


class StorageStep(_Step):
    """A key/value of the cycle or the account: its record is {"Key", "Value"} after the operation."""

    Type: Literal["Storage"]
    Scope: Literal["Cycle", "Account"] = "Cycle"
    Operation: Literal["Get", "Set", "Increment", "Delete"]
    Key: Annotated[str, Field(min_length=1, max_length=STORAGE_KEY_LENGTH)]
    Value: MappingSpec | None = Field(default=None, validate_default=True,
                                      description="Set: the value; Increment: by how much (1)")

    @field_validator("Value")
    @classmethod
    def _value(cls, value: MappingSpec | None, info: ValidationInfo) -> MappingSpec | None:
        operation = info.data.get("Operation")
        if operation == "Set" and value is None:
            raise ValueError("a Set needs a Value")
        if operation in ("Get", "Delete") and value is not None:
            raise ValueError(f"a {operation} takes no Value")
        if operation == "Increment" and value is not None and value.static is not None and not value.DataType:
            _converts(value.static, "Decimal")  # by how much: a number
        return value

    def sources(self) -> list[tuple[str, MappingSpec]]:
        return [("Value", self.Value)] if self.Value else []


class WebhookStep(_Step):
    """The trigger of a webhook-driven cycle: each event posted to its URL is a transaction.

    With a connector's Webhook method, events are read by its response fields, and the
    method's CreateWebhookMethod subscribes the cycle when it is activated."""

    Type: Literal["Webhook"]
    Connector: text.Name | None = None
    Version: text.Name | None = None
    Method: text.Name | None = None
    Script: str | None = Field(default=None, max_length=100_000,
                               description="JavaScript before_webhook / after_webhook handlers for this step's "
                                           "events (after the connector's and the method's)")

    @model_validator(mode="after")
    def _both(self) -> WebhookStep:
        if (self.Connector is None) != (self.Method is None):
            raise ValueError("a Webhook names both a Connector and its Method, or neither")
        if self.Script is not None and self.Connector is None:
            raise ValueError("a Webhook's Script runs with its connector's: name a Connector and Method")
        return self


def _step_type(value: Any) -> str:
    kind = value.get("Type", "Method") if isinstance(value, dict) else getattr(value, "Type", "Method")
    return kind if kind in STEP_TYPES else "Method"  # an unknown Type is refused by MethodStep, at its path


StepSpec = Annotated[
    Annotated[MethodStep, Tag("Method")] | Annotated[DecisionStep, Tag("Decision")]
    | Annotated[DelayStep, Tag("Delay")] | Annotated[WaitUntilStep, Tag("WaitUntil")]
    | Annotated[StorageStep, Tag("Storage")] | Annotated[WebhookStep, Tag("Webhook")],
    Discriminator(_step_type),
]


MAX_CATEGORIES, MAX_INTERVALS = 10, 12
YEAR_MINUTES = 366 * 24 * 60


class TemplateSpec(_Strict):
    Name: text.Name
    Description: text.Value = ""
    # How the connect portal presents it (and what it lets an account choose).
    Icon: text.Image | None = Field(
        default=None, description="the marketplace's picture of it: an http(s) URL or a data:image/ URI")
    Categories: list[text.Name] | None = Field(default=None, max_length=MAX_CATEGORIES,
                                               description="what the marketplace filters by")
    Intervals: list[Annotated[float, Field(gt=0, le=YEAR_MINUTES, allow_inf_nan=False)]] | None = Field(
        default=None, min_length=1, max_length=MAX_INTERVALS,
        description="the Intervals (minutes) a cycle of it may be activated with; the first is the portal's "
                    "default. None: any")
    CollectionSplit: Split = "First"
    Steps: list[StepSpec] = Field(min_length=1, description=f"at most {MAX_STEPS}")

    @field_validator("Steps", mode="before")
    @classmethod
    def _few_enough_steps(cls, value: Any) -> Any:
        return _at_most(value, MAX_STEPS, "steps", "a template")


def _at_most(value: Any, limit: int, what: str, owner: str) -> Any:
    """Refused before its items are looked at, naming the limit."""
    if isinstance(value, list) and len(value) > limit:
        raise ValueError(f"{owner} has at most {limit:,} {what}; this one has {len(value):,}")
    return value
