"""The connector JSON format (DESIGN §2) as pydantic models, in Cyclr's PascalCase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from connectors.mergefields import fill

# A File is {"Content": <base64>, "FileName": …, "ContentType": …} (connectors/encoding.py).
FieldDataType = Literal["Text", "Integer", "Decimal", "Float", "Boolean", "DateTime", "File"]
Verb = Literal["Get", "Post", "Put", "Patch", "Delete"]
# Cyclr's files write GET: a verb is read in its three spellings (Get, GET, get), and only those.
VERB_SPELLINGS = [spelling for verb in get_args(Verb) for spelling in (verb, verb.upper(), verb.lower())]
HttpMethodName = Annotated[
    Verb,
    BeforeValidator(lambda value: value.capitalize() if value in VERB_SPELLINGS else value),
    WithJsonSchema({"type": "string", "enum": VERB_SPELLINGS}),
]


class Spec(BaseModel):
    # Unknown properties are refused, so a typo is reported instead of silently ignored.
    model_config = ConfigDict(extra="forbid")


class Authentication(Spec):
    Name: str = "Default"
    AuthType: Literal["None", "ApiKey", "Basic", "Bearer", "OAuth2"]
    ApiKeyLocation: Literal["Header", "QueryString", "Body"] | None = None
    ApiKeyName: str | None = None
    OAuth2Type: Literal["AuthorisationCode", "ClientCredentials", "PasswordCredentials"] | None = None
    AuthoriseUrl: str | None = None
    AccessTokenUrl: str | None = None
    RefreshUrl: str | None = None
    Scopes: list[str] = Field(default_factory=list)
    IsDefault: bool = False
    # OAuth2 AuthorisationCode: fields of the token response (Salesforce's instance_url) that
    # fill the account connector properties their SystemFields name, at each consent.
    TokenResponseFields: list[FieldSpec] = []


# The name Connector.Authentication would shadow inside that class.
AuthenticationSpec = Authentication


class Parameter(Spec):
    Name: str | None = None
    TargetType: Literal["MergeField", "QueryString", "HttpHeader", "ResponseField", "FilterField"]
    TargetName: str | None = None
    Values: list[str] = Field(default_factory=list)
    DefaultValue: str | None = None
    IsOptional: bool = False
    Hide: bool = False
    IsSensitive: bool = False
    IsAccountConnectorProperty: bool = False
    DataType: FieldDataType | None = None
    Explode: bool = True  # a QueryString given a list: the name repeated (true) or the items comma-joined
    Description: str | None = None
    TriggerName: str | None = None  # a dropdown: its values come from the connector's trigger of this Name

    @property
    def key(self) -> str:
        """How mappings and mergefields refer to it."""
        return self.Name or self.TargetName or ""


class RateLimit(Spec):
    MaxRequests: int | None = Field(default=None, gt=0)
    TimeFrame: Literal["Seconds", "Minutes", "Hours", "Days"] | None = None
    MinTimeBetweenRequestsMs: int | None = Field(default=None, gt=0)


class FieldSpec(Spec):
    ConnectorField: str
    SystemField: str
    DisplayField: str | None = None
    DataType: FieldDataType = "Text"
    Format: str | None = None
    IsOptional: bool = False
    Values: list[Any] = Field(default_factory=list)
    DefaultValue: Any = None
    Description: str | None = None
    TriggerName: str | None = None  # a dropdown: its values come from the connector's trigger of this Name


class Format(Spec):
    Fields: list[FieldSpec] = Field(default_factory=list)
    # A method whose records describe more fields of this format for one account connector
    # (connectors/lookups.py): an API's custom fields, found once it is authenticated.
    CustomFieldsLookupMethod: str | None = None


class Trigger(Spec):
    """A lookup: the values a parameter or field with this TriggerName may take, listed by a method."""

    Name: str = Field(min_length=1)
    Method: str  # the UniqueIdentifier of the method that lists them
    IdentifierKey: str  # the ConnectorField path, in its response, of each value
    HumanReadableKey: str  # the ConnectorField path of each value's label


class Method(Spec):
    UniqueIdentifier: str = Field(min_length=1)
    Name: str
    Description: str = ""
    Category: str = ""
    MethodType: Literal["Action", "Webhook"] = "Action"
    HttpMethod: HttpMethodName
    Endpoint: str
    # Form nests in brackets (a[b]=c); Multipart sends File fields as file parts; Binary sends
    # its one File field as the whole body (connectors/encoding.py).
    DataType: Literal["Json", "Form", "Multipart", "Binary", "Xml", "PlainText", "None"] = "Json"
    Parameters: list[Parameter] = Field(default_factory=list)
    RequestFormat: Format | None = None
    ResponseFormat: Format | None = None
    IdempotencyKeyHeader: str | None = None
    FollowRedirects: bool = False  # follow redirects within the method's origin (connectors/redirects.py)
    PagedInbound: bool | None = None
    PageSizeInbound: int | None = Field(default=None, gt=0)
    PagedOutbound: bool | None = None
    PageSizeOutbound: int | None = Field(default=None, gt=0)
    PagedOutboundLocation: str | None = None  # the body path of the array to split; the root when absent
    PagingStopOnShortPage: bool = True
    MaxPages: int = Field(default=10_000, gt=0)
    RateLimits: list[RateLimit] = Field(default_factory=list)
    OverrideConnectorRateLimits: bool = False
    CreateWebhookMethod: str | None = None
    DeleteWebhookMethod: str | None = None
    Script: str | None = None

    @property
    def request_fields(self) -> list[FieldSpec]:
        return self.RequestFormat.Fields if self.RequestFormat else []

    @property
    def response_fields(self) -> list[FieldSpec]:
        return self.ResponseFormat.Fields if self.ResponseFormat else []


class WebhookSignature(Spec):
    """How a vendor signs the events it posts to a partner webhook, with the partner's secret."""

    # HmacSha256: the HMAC-SHA256 of the body in `Header` (Shopify, GitHub); SlackV0: Slack's
    # v0 scheme over its timestamp and the body (X-Slack-Signature, X-Slack-Request-Timestamp).
    Scheme: Literal["HmacSha256", "SlackV0"]
    Header: str | None = None
    Encoding: Literal["Hex", "Base64"] = "Hex"
    Prefix: str = ""  # before the digest in the header, e.g. "sha256="


class PartnerWebhook(Spec):
    """One inbound URL for the whole partner, for vendors whose app registers one webhook for
    every install (api/routers/partner_webhooks.py): each event reaches the Webhook steps of the
    accounts whose account connector property `AccountProperty` equals its `AccountField`."""

    AccountProperty: str = Field(min_length=1)
    AccountField: str = Field(min_length=1)  # a ConnectorField path in each event
    Signature: WebhookSignature | None = None


PartnerWebhookSpec = PartnerWebhook  # as AuthenticationSpec: the property's name would shadow it


class Connector(Spec):
    # Shown in every listing: one line, bounded (like every name the API stores).
    Name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    Description: str = ""
    Version: str = "1.0"
    Authentication: list[AuthenticationSpec] = Field(default_factory=list)
    Parameters: list[Parameter] = Field(default_factory=list)
    PagedInbound: bool = False
    PageSizeInbound: int | None = Field(default=None, gt=0)
    PagedOutbound: bool = False
    PageSizeOutbound: int | None = Field(default=None, gt=0)
    RateLimits: list[RateLimit] = Field(default_factory=list)
    Methods: list[Method] = Field(default_factory=list)
    Triggers: list[Trigger] = Field(default_factory=list)
    Script: str | None = None
    AuthTestMethod: str | None = None  # the method that tests an account connector's credentials
    # Run once credentials are set (and after each OAuth consent): its response fields fill the
    # account connector properties their SystemFields name (connectors/post_install.py).
    PostInstallLookupMethod: str | None = None
    PartnerWebhook: PartnerWebhookSpec | None = None

    def test_method(self) -> Method | None:
        """The named test method, else the first GET: a read that proves the credentials work."""
        if self.AuthTestMethod:
            return self.method(self.AuthTestMethod)
        return next((m for m in self.Methods if m.HttpMethod == "Get"), None)

    def method(self, unique_identifier: str) -> Method:
        for method in self.Methods:
            if method.UniqueIdentifier == unique_identifier:
                return method
        raise KeyError(unique_identifier)

    def trigger(self, name: str) -> Trigger:
        for trigger in self.Triggers:
            if trigger.Name == name:
                return trigger
        raise KeyError(name)

    def default_authentication(self) -> Authentication | None:
        return next((a for a in self.Authentication if a.IsDefault), None) or next(
            iter(self.Authentication), None
        )

    def authentication(self, name: str | None) -> Authentication | None:
        if name is None:
            return self.default_authentication()
        return next((a for a in self.Authentication if a.Name == name), None)

    def account_properties(self) -> list[Parameter]:
        return [p for p in self.Parameters if p.IsAccountConnectorProperty]

    def property_values(self, properties: Mapping[str, str]) -> dict[str, str]:
        """What the connector's parameters stand for in mergefields: the account connector's
        properties, else the parameters' defaults. A default may name the others: an imported
        BaseUrl's is https://{{region}}.api.example.com until an account sets a BaseUrl of its own."""
        values = {p.Name: p.DefaultValue for p in self.Parameters if p.Name and p.DefaultValue is not None}
        values |= properties
        return {name: fill(value, {k: v for k, v in values.items() if k != name}) if name not in properties else value
                for name, value in values.items()}
