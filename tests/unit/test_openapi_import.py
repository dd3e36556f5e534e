"""OpenAPI import (issue 9, acceptance 4): OpenAPI 3.x and Swagger 2.0 documents become connectors
that validate, with what could not be converted listed by its place in the document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from connectors import parse_connector
from connectors.nesting import MAX_DEPTH, TooDeep
from connectors.openapi import MAX_DEPTH as MAX_FIELD_DEPTH
from connectors.openapi import (
    MAX_FIELDS,
    NotOpenApi,
    Options,
    authentication_problems,
    import_openapi,
    load,
    operations,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"

USER = {
    "type": "object", "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": ["string", "null"]},
        "role": {"type": "string", "enum": ["admin", "member", None]},
        "created": {"type": "string", "format": "date-time"},
        "born": {"type": "string", "format": "date"},
        "score": {"type": "number", "format": "double"},
        "active": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {"type": "object", "properties": {"city": {"type": "string"}, "geo.lat": {"type": "number"}}},
        "manager": {"$ref": "#/components/schemas/User"},
        "pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}},
        "password": {"type": "string", "writeOnly": True},
    },
}
OPENAPI_31 = {
    "openapi": "3.1.0",
    "info": {"title": "People\nAPI", "version": "2.1", "description": "Users and their pets."},
    "servers": [{"url": "https://{region}.people.test/v2",
                 "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}}},
                {"url": "https://backup.people.test/v2"}],
    "security": [{"key": []}],
    "components": {
        "schemas": {
            "User": USER,
            "Pet": {"type": "object", "properties": {"id": {"type": "string"}, "owner": {"$ref": "#/components/schemas/User"}}},
            "Cat": {"type": "object", "properties": {"name": {"type": "string"}, "purrs": {"type": "boolean"}}},
            "Dog": {"type": "object", "properties": {"name": {"type": "string"}, "barks": {"type": "boolean"}}},
            "NewUser": {"allOf": [{"$ref": "#/components/schemas/User"},
                                  {"type": "object", "required": ["password"]}]},
        },
        "parameters": {"PageToken": {"name": "page_token", "in": "query", "schema": {"type": "string"}}},
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            "login": {"type": "http", "scheme": "basic"},
            "oauth": {"type": "oauth2", "flows": {
                "authorizationCode": {"authorizationUrl": "https://people.test/authorize",
                                      "tokenUrl": "https://people.test/token",
                                      "refreshUrl": "https://people.test/refresh",
                                      "scopes": {"users.read": "", "users.write": ""}},
                "clientCredentials": {"tokenUrl": "https://people.test/token", "scopes": {}},
                "implicit": {"authorizationUrl": "https://people.test/authorize", "scopes": {}}}},
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://people.test/.well-known"},
            "session": {"type": "apiKey", "in": "cookie", "name": "sid"},
            "digest": {"type": "http", "scheme": "digest"},
        },
    },
    "paths": {
        "/users": {
            "get": {
                "operationId": "listUsers", "summary": "List users", "tags": ["Users", "Admin"],
                "parameters": [
                    {"$ref": "#/components/parameters/PageToken"},
                    {"name": "page_size", "in": "query", "schema": {"type": "integer", "maximum": 50}},
                    {"name": "X-Request-Id", "in": "header", "required": True, "schema": {"type": "string"}},
                    {"name": "Accept", "in": "header", "schema": {"type": "string"}},
                    {"name": "sid", "in": "cookie", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
                                   "next_page_token": {"type": "string"}}}}}}},
            },
            "post": {
                "operationId": "createUser",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/NewUser"}},
                    "application/xml": {"schema": {"$ref": "#/components/schemas/NewUser"}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/User"}}}}},
                "callbacks": {"onCreated": {"{$request.body#/url}": {"post": {"responses": {"200": {"description": "ok"}}}}}},
            },
            "head": {"responses": {"200": {"description": "ok"}}},
        },
        "/users/{user-id}/pet": {
            "parameters": [{"name": "user-id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]}}}}}},
            "put": {"operationId": "createUser", "requestBody": {"content": {"multipart/form-data": {
                "schema": {"type": "object", "properties": {"photo": {"type": "string", "format": "binary"}}}}}},
                "responses": {"204": {"description": "done"}}},
        },
        "/events": {"get": {
            "operationId": "listEvents",
            "parameters": [{"name": "offset", "in": "query", "schema": {"type": "integer"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}}},
        "/feed": {"get": {
            "operationId": "feed",
            "parameters": [{"name": "perPage", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
                    "links": {"type": "object", "properties": {"next": {"type": "string", "format": "uri"}}}}}}}}}}},
        "/report": {"get": {"operationId": "report", "responses": {"200": {"description": "csv", "content": {
            "text/csv": {"schema": {"type": "string"}}}}}}},
    },
    "webhooks": {"userDeleted": {"post": {"responses": {"200": {"description": "ok"}}}}},
}


def imported(document: dict, options: Options | None = None):
    result = import_openapi(json.loads(json.dumps(document)), options or Options())
    connector = parse_connector(result.document)  # every import validates
    return result, connector, {p.path: p.message for p in result.skipped}


def by_path(fields) -> dict:
    return {f.ConnectorField: f for f in fields}


def test_the_petstore_example_converts_and_validates():
    _, connector, skipped = imported(load((FIXTURES / "petstore.yaml").read_text()))
    assert (connector.Name, connector.Version) == ("Swagger Petstore", "1.0.0")
    assert [m.UniqueIdentifier for m in connector.Methods] == ["listPets", "createPets", "showPetById"]
    listing = connector.method("listPets")
    assert (listing.Name, listing.Category, listing.HttpMethod) == ("List all pets", "pets", "Get")
    assert listing.Endpoint == "{{BaseUrl}}/pets"
    assert connector.property_values({})["BaseUrl"] == "http://petstore.swagger.io/v1"
    assert {f.ConnectorField: f.DataType for f in listing.response_fields} == {
        "[].id": "Integer", "[].name": "Text", "[].tag": "Text"}
    assert [(p.TargetType, p.TargetName, p.IsOptional) for p in listing.Parameters] == [
        ("QueryString", "limit", True)]
    assert not listing.PagedInbound  # a limit alone does not page
    create = connector.method("createPets")
    assert [(f.ConnectorField, f.IsOptional) for f in create.request_fields] == [
        ("id", False), ("name", False), ("tag", True)]
    one = connector.method("showPetById")
    assert one.Endpoint.endswith("/pets/{{petId}}")
    assert [(p.Name, p.TargetType, p.IsOptional) for p in one.Parameters] == [("petId", "MergeField", False)]
    assert skipped == {"#/paths/~1pets/get/responses/200/headers/x-next":
                       "response header 'x-next' is not converted (fields are read from the body)",
                       "#/components/securitySchemes": "the document declares no security scheme that converts: "
                       "the connector sends no credentials unless an authentication is chosen at import"}


def test_schemas_become_fields_refs_resolved_arrays_as_paths_and_cycles_cut():
    _, connector, skipped = imported(OPENAPI_31)
    users = by_path(connector.method("listUsers").response_fields)
    assert users["[users].id"].DataType == "Integer" and not users["[users].id"].IsOptional
    assert users["[users].name"].DataType == "Text"  # 3.1's ["string", "null"]
    assert users["[users].role"].Values == ["admin", "member"]
    assert users["[users].created"].DataType == "DateTime"
    assert (users["[users].born"].DataType, users["[users].born"].Format) == ("DateTime", "yyyy-MM-dd")
    assert (users["[users].score"].DataType, users["[users].active"].DataType) == ("Float", "Boolean")
    assert users["[users].tags"].DataType == "Text"  # a list of values is one field
    assert users["[users].address.city"].SystemField == "AddressCity"
    assert "[users].address.\\geo.lat\\" in users  # a dotted name, quoted
    assert users["[users].[pets].id"].SystemField == "PetsId"
    assert "[users].password" not in users  # writeOnly: never in a response
    # User.manager is a User, and a pet's owner is too: cut at the repeat, and listed.
    assert not any(path.startswith(("[users].manager", "[users].[pets].owner")) for path in users)
    cycles = [path for path, message in skipped.items() if "cycle" in message]
    assert "#/paths/~1users/get/responses/200/content/application~1json/schema/properties/users/items/properties/manager" in cycles
    assert any(path.endswith("/properties/pets/items/properties/owner") for path in cycles)

    create = connector.method("createUser")
    fields = by_path(create.request_fields)
    assert "id" not in fields and fields["password"].IsOptional is False  # readOnly left out; allOf merged
    assert create.DataType == "Json"
    pet = {f.ConnectorField: f.IsOptional for f in connector.method("get-users-user-id-pet").response_fields}
    assert pet == {"name": True, "purrs": True, "barks": True}  # the union of Cat's and Dog's


def test_parameters_servers_and_identifiers():
    _, connector, skipped = imported(OPENAPI_31)
    assert connector.Name == "People API" and connector.Description == "Users and their pets."
    assert [(p.Name, p.IsAccountConnectorProperty, p.DefaultValue, p.Values) for p in connector.Parameters] == [
        ("BaseUrl", True, "https://{{region}}.people.test/v2", []), ("region", True, "eu", ["eu", "us"])]
    assert "'https://{region}.people.test/v2', 'https://backup.people.test/v2'" in connector.Parameters[0].Description
    listing = connector.method("listUsers")
    assert listing.Endpoint == "{{BaseUrl}}/users" and listing.Category == "Users"
    header = next(p for p in listing.Parameters if p.TargetType == "HttpHeader")
    assert (header.TargetName, header.IsOptional) == ("X-Request-Id", False)
    pet = connector.method("get-users-user-id-pet")
    assert pet.Endpoint == "{{BaseUrl}}/users/{{user_id}}/pet"
    assert [(p.Name, p.DataType) for p in pet.Parameters] == [("user_id", "Integer")]
    assert connector.method("createUser-2").HttpMethod == "Put"  # a repeated operationId made unique
    assert "cookie parameter 'sid'" in skipped["#/paths/~1users/get/parameters/4"]
    assert "set by the engine" in skipped["#/paths/~1users/get/parameters/3"]


def test_security_schemes_become_authentication_entries():
    _, connector, skipped = imported(OPENAPI_31)
    entries = {a.Name: a for a in connector.Authentication}
    assert set(entries) == {"bearer", "key", "login", "oauth (authorizationCode)", "oauth (clientCredentials)"}
    assert connector.default_authentication().Name == "key"  # the document's own security
    assert (entries["key"].AuthType, entries["key"].ApiKeyLocation, entries["key"].ApiKeyName) == (
        "ApiKey", "Header", "X-Api-Key")
    assert entries["bearer"].AuthType == "Bearer" and entries["login"].AuthType == "Basic"
    code = entries["oauth (authorizationCode)"]
    assert (code.OAuth2Type, code.AuthoriseUrl, code.AccessTokenUrl, code.RefreshUrl, code.Scopes) == (
        "AuthorisationCode", "https://people.test/authorize", "https://people.test/token",
        "https://people.test/refresh", ["users.read", "users.write"])
    assert entries["oauth (clientCredentials)"].OAuth2Type == "ClientCredentials"
    schemes = "#/components/securitySchemes"
    assert "implicit flow is not supported" in skipped[f"{schemes}/oauth/flows/implicit"]
    assert "openIdConnect" in skipped[f"{schemes}/oidc"]
    assert "API key in a cookie" in skipped[f"{schemes}/session"]
    assert "'digest'" in skipped[f"{schemes}/digest"]


def test_paging_is_recognised_where_names_make_it_plain():
    _, connector, _ = imported(OPENAPI_31)
    controls = {m.UniqueIdentifier: {(p.TargetType, p.TargetName): p.Values for p in m.Parameters if p.Values}
                for m in connector.Methods}
    users = connector.method("listUsers")
    assert users.PagedInbound and users.PageSizeInbound == 50  # the API's maximum, under 100
    assert controls["listUsers"] == {("QueryString", "page_token"): ["PAGE_TOKEN"],
                                     ("QueryString", "page_size"): ["PAGE_SIZE"],
                                     ("ResponseField", "next_page_token"): ["PAGE_TOKEN"]}
    assert "next_page_token" not in by_path(users.response_fields)  # a cursor, not a record's field
    assert controls["listEvents"] == {("QueryString", "offset"): ["PAGE_OFFSET"],
                                      ("QueryString", "limit"): ["PAGE_SIZE"]}
    assert connector.method("listEvents").PageSizeInbound == 100
    assert controls["feed"] == {("QueryString", "perPage"): ["PAGE_SIZE"],
                                ("ResponseField", "links.next"): ["PAGE_NEXT_URL"]}
    assert all(p.Hide for m in connector.Methods for p in m.Parameters if p.Values and p.Values[0].startswith("PAGE"))


def test_what_is_not_converted_is_listed():
    _, connector, skipped = imported(OPENAPI_31)
    upload = next(m for m in connector.Methods if m.Endpoint.endswith("/pet") and m.HttpMethod == "Put")
    assert upload.DataType == "Multipart"  # converted: a binary string is a File field, sent as a file part
    assert [(f.ConnectorField, f.DataType) for f in upload.request_fields] == [("photo", "File")]
    assert "HEAD" in skipped["#/paths/~1users/head"]
    assert "callback 'onCreated'" in skipped["#/paths/~1users/post/callbacks/onCreated"]
    assert "webhook 'userDeleted'" in skipped["#/webhooks/userDeleted"]
    assert "text/csv" in skipped["#/paths/~1report/get/responses/200"]
    oneof = "#/paths/~1users~1{user-id}~1pet/get/responses/200/content/application~1json/schema"
    assert skipped[oneof] == ("oneOf/anyOf: the union of the variants' fields, each required only where every "
                              "variant requires it")


def test_a_relative_server_is_a_base_url_each_account_sets_and_a_chosen_one_is_the_default():
    document = {**OPENAPI_31, "servers": [{"url": "/api/v3"}]}
    _, connector, _ = imported(document)
    assert connector.method("listUsers").Endpoint == "{{BaseUrl}}/users"
    (base,) = connector.account_properties()
    assert (base.Name, base.DefaultValue) == ("BaseUrl", None)
    assert "such as https://api.example.com/api/v3" in base.Description
    _, connector, _ = imported(document, options=Options(base_url="http://127.0.0.1:9/people/"))
    assert connector.method("listUsers").Endpoint == "{{BaseUrl}}/users"
    assert [(p.Name, p.DefaultValue) for p in connector.account_properties()] == [("BaseUrl", "http://127.0.0.1:9/people")]


def test_server_variables_are_properties_the_base_urls_default_names():
    _, connector, _ = imported(OPENAPI_31)
    assert connector.property_values({})["BaseUrl"] == "https://eu.people.test/v2"
    assert connector.property_values({"region": "us"})["BaseUrl"] == "https://us.people.test/v2"
    assert connector.property_values({"BaseUrl": "https://sandbox.people.test"})["BaseUrl"] == "https://sandbox.people.test"


SWAGGER = {
    "swagger": "2.0", "info": {"title": "Old API", "version": "1"},
    "host": "old.test", "basePath": "/v1", "schemes": ["https"],
    "securityDefinitions": {"basic": {"type": "basic"},
                            "token": {"type": "apiKey", "in": "query", "name": "token"},
                            "oauth": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://old.test/a",
                                      "tokenUrl": "https://old.test/t", "scopes": {"read": ""}}},
    "definitions": {"Item": {"type": "object", "required": ["sku"], "properties": {
        "sku": {"type": "string"}, "lines": {"type": "array", "items": {"$ref": "#/definitions/Line"}}}},
        "Line": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
    "paths": {
        "/items": {
            "get": {"operationId": "listItems",
                    "parameters": [{"name": "page", "in": "query", "type": "integer"},
                                   {"name": "per_page", "in": "query", "type": "integer"}],
                    "responses": {"200": {"description": "ok", "schema": {"type": "array",
                                                                          "items": {"$ref": "#/definitions/Item"}}}}},
            "post": {"operationId": "createItem",
                     "parameters": [{"name": "body", "in": "body", "required": True,
                                     "schema": {"$ref": "#/definitions/Item"}}],
                     "responses": {"201": {"description": "ok", "schema": {"$ref": "#/definitions/Item"}}}},
        },
        "/login": {"post": {"operationId": "login", "consumes": ["application/x-www-form-urlencoded"],
                            "parameters": [{"name": "user", "in": "formData", "type": "string", "required": True},
                                           {"name": "remember", "in": "formData", "type": "boolean"}],
                            "responses": {"204": {"description": "ok"}}}},
        "/export": {"get": {"operationId": "export", "produces": ["text/csv"],
                            "responses": {"200": {"description": "ok", "schema": {"type": "string"}}}}},
    },
}


def test_swagger_2_converts_too():
    _, connector, skipped = imported(SWAGGER)
    assert connector.method("listItems").Endpoint == "{{BaseUrl}}/items"
    assert connector.property_values({})["BaseUrl"] == "https://old.test/v1"
    listing = connector.method("listItems")
    assert listing.PagedInbound and {p.TargetName: p.Values for p in listing.Parameters} == {
        "page": ["PAGE_NUMBER"], "per_page": ["PAGE_SIZE"]}
    assert set(by_path(listing.response_fields)) == {"[].sku", "[].[lines].qty"}
    assert [(f.ConnectorField, f.IsOptional) for f in connector.method("createItem").request_fields] == [
        ("sku", False), ("[lines].qty", True)]
    login = connector.method("login")
    assert login.DataType == "Form"
    assert [(f.ConnectorField, f.DataType, f.IsOptional) for f in login.request_fields] == [
        ("user", "Text", False), ("remember", "Boolean", True)]
    entries = {a.Name: a for a in connector.Authentication}
    assert entries["basic"].AuthType == "Basic" and entries["basic"].IsDefault
    assert (entries["token"].ApiKeyLocation, entries["oauth"].OAuth2Type) == ("QueryString", "AuthorisationCode")
    assert "text/csv" in skipped["#/paths/~1export/get/responses/200"]


def test_the_larger_real_spec_converts_validates_and_reports_what_it_skipped():
    result, connector, skipped = imported(load((FIXTURES / "netlify-swagger.json").read_bytes()))
    assert len(connector.Methods) == 181 and connector.Name == "Netlify's API documentation"
    sites = connector.method("listSites")
    assert sites.Endpoint == "{{BaseUrl}}/sites" and sites.PagedInbound
    assert connector.property_values({})["BaseUrl"] == "https://api.netlify.com/api/v1"
    assert by_path(sites.response_fields)["[].created_at"].DataType == "DateTime"
    assert "implicit flow is not supported" in skipped["#/securityDefinitions/netlifyAuth"]
    uploads = {m.UniqueIdentifier: (m.DataType, [(f.ConnectorField, f.DataType) for f in m.request_fields])
               for m in connector.Methods if m.DataType in ("Binary", "Multipart")}
    assert uploads["createSiteBuild"] == ("Multipart", [("zip", "File")])  # a formData file parameter
    assert uploads["uploadDeployFile"] == ("Binary", [("file", "File")])  # an application/octet-stream body
    assert len(uploads) == 5
    assert "declares no security scheme that converts" in skipped["#/securityDefinitions"]  # implicit only
    assert len(result.skipped) == 2


@pytest.mark.parametrize(("text", "message"), [
    ("{}", "neither 'openapi: 3.x' nor 'swagger"),
    ("openapi: 2.5\npaths: {}", "neither 'openapi: 3.x' nor 'swagger"),
    ("- a list", "is an object"),
    ("{not: [valid", "neither JSON nor YAML"),
    ('{"openapi": "3.0.3", "paths": []}', "'paths' must be an object"),
])
def test_a_document_that_is_not_openapi_is_refused_plainly(text, message):
    with pytest.raises(NotOpenApi, match=message.replace("'", ".").replace("(", ".")):
        load(text)


def test_yaml_and_json_load_alike():
    text = (FIXTURES / "petstore.yaml").read_text()
    assert load(text) == load(json.dumps(yaml.safe_load(text), default=str)) | {}


def test_only_references_inside_the_document_are_followed(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"type": "object", "properties": {"leaked": {"type": "string"}}}))
    response = {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"a": {"$ref": secret.as_uri()}, "b": {"$ref": "#/nowhere"},
                                         "c": {"type": "string"}}}}}}}
    document = {"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
                "paths": {"/x": {"get": {"operationId": "x", "responses": response}}}}
    _, connector, skipped = imported(document)
    assert [f.ConnectorField for f in connector.method("x").response_fields] == ["c"]
    schema = "#/paths/~1x/get/responses/200/content/application~1json/schema/properties"
    assert {p: m for p, m in skipped.items() if p.startswith(schema)} == {
        f"{schema}/a": f"not converted: a $ref that cannot be resolved: {secret.as_uri()}",
        f"{schema}/b": "not converted: a $ref that cannot be resolved: #/nowhere"}


@pytest.mark.parametrize("paths", [
    {"/x": {"get": []}}, {"/x": {"get": {"parameters": {"a": 1}}}},
    {"/x": {"get": {"parameters": [{"$ref": "#/missing"}]}}}, {"/x": {"get": {"responses": ["200"]}}},
    {"/x": {"get": {"responses": {"200": {"content": {"application/json": {"schema": "text"}}}}}}},
    {"/x": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"type": 5,
                                                                                      "properties": []}}}}}}}},
    {"/x": {"post": {"requestBody": {"content": []}}}}, {"/{a}": {"get": {"operationId": 7, "tags": "t"}}},
])
def test_a_malformed_operation_is_listed_and_the_rest_converts(paths):
    document = {"openapi": "3.0.0", "info": "title", "servers": [{"url": 5}],
                "paths": {**paths, "/ok": {"get": {"operationId": "ok", "responses": {}}}},
                "components": {"securitySchemes": {"a": {"type": "oauth2", "flows": []}, "b": "text"}}}
    _, connector, skipped = imported(document)
    assert "ok" in [m.UniqueIdentifier for m in connector.Methods]
    assert "security scheme 'b' is not converted" in skipped["#/components/securitySchemes/b"]


@pytest.mark.parametrize("document", [
    {"openapi": "3.0.0", "paths": {"/x": 5}}, {"openapi": "3.0.0", "paths": {}, "servers": 5},
])
def test_a_document_of_the_wrong_shape_is_refused_plainly(document):
    with pytest.raises(NotOpenApi, match="the shape OpenAPI describes"):
        import_openapi(document)


HEADER = "openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths: {}\n"


@pytest.mark.parametrize("text", [
    '{"openapi": "3.0.3", "paths": {}, "x-deep": ' + "[" * 100_000 + "]" * 100_000 + "}",  # JSON
    HEADER + "x-deep: " + "[" * 100_000 + "]" * 100_000 + "\n",  # YAML, flow style
    HEADER + "".join(f"{'  ' * i}x{i}:\n" for i in range(MAX_DEPTH + 1)) + "  " * (MAX_DEPTH + 1) + "end: 1\n",
])
def test_a_document_nested_too_deeply_is_refused_by_the_one_bound(text):
    with pytest.raises(TooDeep, match=f"the OpenAPI document is nested deeper than {MAX_DEPTH} levels"):
        load(text)


def test_brackets_in_yaml_text_are_not_nesting():
    text = HEADER + "info: {title: '" + "[" * 200 + "', version: '1'}\n"
    assert load(text)["info"]["title"] == "[" * 200


def schemas_document(schemas: dict, root: str) -> dict:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{root}"}}}
    return {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "components": {"schemas": schemas},
            "paths": {"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok",
                                                                               "content": content}}}}}}


OBJECT = {"type": "object", "properties": {"id": {"type": "string"}}}


def test_a_loop_of_refs_is_reported_and_cut_and_the_rest_converts():
    document = schemas_document({"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"},
                                 "C": {"$ref": "#/components/schemas/C"}}, "A")
    document["paths"]["/y"] = schemas_document({}, "Item")["paths"]["/x"]
    document["paths"]["/y"]["get"]["operationId"] = "y"
    document["components"]["schemas"]["Item"] = OBJECT
    _, connector, skipped = imported(document)
    assert skipped["#/components/schemas/C"] == ("a loop of $refs (#/components/schemas/C → #/components/schemas/C): "
                                                 "not converted")
    (loop,) = [m for p, m in skipped.items() if p in ("#/components/schemas/A", "#/components/schemas/B")]
    assert loop.startswith("a loop of $refs (#/components/schemas/") and loop.endswith("): not converted")
    assert [f.ConnectorField for f in connector.method("y").response_fields] == ["id"]
    import_openapi(document)
    assert document["components"]["schemas"]["A"] == {"$ref": "#/components/schemas/B"}  # the caller's is intact


def test_a_chain_of_refs_longer_than_the_bound_is_cut():
    count = 1_000  # past the recursion limit, were each ref a frame of resolving
    chain = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(count)} | {f"S{count}": OBJECT}
    _, _, skipped = imported(schemas_document(chain, "S0"))
    cuts = [p for p, m in skipped.items() if m == f"more than {MAX_DEPTH} $refs in a row: not followed further"]
    assert count // (MAX_DEPTH + 1) <= len(cuts) <= count // MAX_DEPTH  # one in every 65, or so


def test_schemas_composed_in_long_chains_or_diamonds_are_worked_out_once_each():
    chain = {f"S{i}": {"allOf": [{"$ref": f"#/components/schemas/S{i + 1}"}],
                       "properties": {f"p{i}": {"type": "string"}}} for i in range(1_000)} | {"S1000": OBJECT}
    _, connector, skipped = imported(schemas_document(chain, "S0"))
    assert any("composed (allOf, oneOf, anyOf) more than" in m for m in skipped.values())
    # Two variants a level, 40 levels: 2**40 ways down, 80 schemas.
    diamond = {f"{n}{i}": {"oneOf": [{"$ref": f"#/components/schemas/S{i + 1}"},
                                     {"$ref": f"#/components/schemas/T{i + 1}"}]} for i in range(40) for n in "ST"}
    _, connector, _ = imported(schemas_document(diamond | {"S40": OBJECT, "T40": OBJECT}, "S0"))
    assert [f.ConnectorField for f in connector.method("x").response_fields] == ["id"]


# Issue 17: imports worth using.

NO_SECURITY = {"openapi": "3.0.3", "info": {"title": "Open", "version": "1"}, "servers": [{"url": "https://open.test"}],
               "paths": {"/me": {"get": {"operationId": "me", "responses": {"200": {"description": "ok"}}}}}}


def test_a_document_declaring_no_security_is_noted_and_an_authentication_chosen_at_import_is_the_default():
    _, connector, skipped = imported(NO_SECURITY)
    assert connector.Authentication == []
    assert "the connector sends no credentials" in skipped["#/components/securitySchemes"]
    _, connector, skipped = imported(NO_SECURITY, Options(authentication={"AuthType": "Bearer"}))
    assert [(a.Name, a.AuthType, a.IsDefault) for a in connector.Authentication] == [("Bearer", "Bearer", True)]
    assert "#/components/securitySchemes" not in skipped


def test_a_chosen_authentication_comes_before_those_the_document_declares():
    chosen = {"AuthType": "ApiKey", "Name": "key", "ApiKeyName": "X-Token", "ApiKeyLocation": "Header"}
    _, connector, _ = imported(OPENAPI_31, Options(authentication=chosen))
    first, *declared = connector.Authentication
    assert (first.Name, first.ApiKeyName, first.IsDefault) == ("key 2", "X-Token", True)  # 'key' is declared
    assert len(declared) == 5 and not any(a.IsDefault for a in declared)


@pytest.mark.parametrize(("chosen", "problems"), [
    ({"AuthType": "ApiKey"}, [("ApiKeyName", "an ApiKey authentication needs an ApiKeyName")]),
    ({"AuthType": "Token"}, [("AuthType", "Input should be 'None', 'ApiKey', 'Basic', 'Bearer' or 'OAuth2'")]),
    ({"ApiKeyName": "X-Key"}, [("AuthType", "is required")]),
    ({"AuthType": "OAuth2", "OAuth2Type": "AuthorisationCode", "AuthoriseUrl": "{{BaseUrl}}/authorize",
      "AccessTokenUrl": "{{Tenant}}/token"}, [("AccessTokenUrl", ("unknown mergefield '{{Tenant}}': no parameter, "
                                                                "property or built-in has that name"))]),
])
def test_an_authentication_that_cannot_be_chosen_is_named(chosen, problems):
    assert [(p.path, p.message) for p in authentication_problems(chosen)] == problems


def body_document(schema: dict, media: str = "application/json", where: str = "request") -> dict:
    content = {media: {"schema": schema}}
    operation = {"operationId": "x", "responses": {"200": {"description": "ok"}}}
    if where == "request":
        operation["requestBody"] = {"required": True, "content": content}
    else:
        operation["responses"]["200"]["content"] = content
    return {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "servers": [{"url": "https://t.test"}],
            "paths": {"/x": {"post": operation}}}


def fields_of(document: dict, where: str = "request") -> tuple[dict, dict]:
    _, connector, skipped = imported(document)
    method = connector.method("x")
    found = method.request_fields if where == "request" else method.response_fields
    return {f.ConnectorField: f.IsOptional for f in found}, skipped


ADDRESS = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}}
STRIPE_LIKE = {"type": "object", "properties": {  # Stripe's "an object, or '' to clear it"
    "email": {"type": "string"}, "address": {"anyOf": [ADDRESS, {"type": "string", "enum": [""]}]},
    "customer": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/Customer"}]}}}


def test_one_of_and_any_of_are_the_union_of_their_fields_noted():
    variants = {"oneOf": [ADDRESS, {"type": "object", "required": ["city", "po_box"],
                                    "properties": {"city": {"type": "string"}, "po_box": {"type": "string"}}}]}
    found, skipped = fields_of(body_document({"type": "object", "required": ["to"], "properties": {"to": variants}}))
    assert found == {"to.city": False, "to.zip": True, "to.po_box": True}  # city: every variant requires it
    assert "union of the variants' fields" in skipped["#/paths/~1x/post/requestBody/content/application~1json"
                                                      "/schema/properties/to"]


def test_an_object_or_a_plain_value_is_one_value_and_an_object_or_nothing_its_fields():
    document = body_document(STRIPE_LIKE, "application/x-www-form-urlencoded")
    document["components"] = {"schemas": {"Customer": {"type": "object", "properties": {"id": {"type": "string"}}}}}
    for where in ("request", "response"):
        if where == "response":
            document = body_document(STRIPE_LIKE, where="response") | {"components": document["components"]}
        found, skipped = fields_of(document, where)
        assert set(found) == {"email", "address.city", "address.zip", "customer"}  # an id, or the object
        schema = ("#/paths/~1x/post/requestBody/content/application~1x-www-form-urlencoded/schema" if where == "request"
                  else "#/paths/~1x/post/responses/200/content/application~1json/schema")
        assert skipped[f"{schema}/properties/address"] == "oneOf/anyOf: its objects' fields ('' to clear it is not converted)"
        assert skipped[f"{schema}/properties/customer"] == ("oneOf/anyOf of objects and plain values: read as one value, "
                                                            "as it comes")
    _, connector, _ = imported(body_document(STRIPE_LIKE, "application/x-www-form-urlencoded")
                               | {"components": document["components"]})
    assert connector.method("x").DataType == "Form"  # nested: sent as address[city]=…


def nested(depth: int) -> dict:
    schema: dict = {"type": "string"}
    for level in reversed(range(depth)):
        schema = {"type": "object", "properties": {f"l{level}": schema, "here": {"type": "string"}}}
    return schema


def test_nesting_goes_as_deep_as_real_specs_to_a_named_bound():
    found, skipped = fields_of(body_document(nested(MAX_FIELD_DEPTH)))
    deepest = ".".join(f"l{i}" for i in range(MAX_FIELD_DEPTH))
    assert MAX_FIELD_DEPTH >= 11 and deepest in found  # Stripe's go 11 deep, Xero's 10
    found, skipped = fields_of(body_document(nested(MAX_FIELD_DEPTH + 1)))
    assert deepest not in found and deepest + ".here" not in found
    assert f"nested deeper than {MAX_FIELD_DEPTH} levels (the bound): not expanded" in skipped.values()


def test_past_the_field_bound_the_most_deeply_nested_are_left_out_and_the_order_kept():
    big = {"type": "object", "properties": {f"f{i}": {"type": "string"} for i in range(MAX_FIELDS)}}
    schema = {"type": "object", "properties": {"a_first": {"type": "string"}, "big": big, "z_last": {"type": "string"}}}
    found, skipped = fields_of(body_document(schema))
    assert len(found) == MAX_FIELDS
    assert list(found)[:2] == ["a_first", "big.f0"] and list(found)[-1] == "z_last"  # shallowest kept, in order
    assert skipped["#/paths/~1x/post/requestBody/content/application~1json"] == (
        f"a request with more than {MAX_FIELDS} fields: the most deeply nested are not converted")


def test_schemas_that_hold_no_field_are_read_a_bounded_number_of_times():
    # Every leaf is readOnly, so a request has no field however far the walk goes: 2**12 ways down.
    schemas = {f"S{i}": {"type": "object", "properties": {"a": {"$ref": f"#/components/schemas/S{i + 1}"},
                                                          "b": {"$ref": f"#/components/schemas/S{i + 1}"}}}
               for i in range(MAX_FIELD_DEPTH)} | {f"S{MAX_FIELD_DEPTH}": {"type": "string", "readOnly": True}}
    document = body_document({"$ref": "#/components/schemas/S0"})
    document["components"] = {"schemas": schemas}
    found, skipped = fields_of(document)
    assert found == {}
    assert "whose schemas take more than" in skipped["#/paths/~1x/post/requestBody/content/application~1json"]


def test_progress_is_heard_operation_by_operation():
    heard: list[tuple[int, int]] = []
    import_openapi(json.loads(json.dumps(OPENAPI_31)), Options(), lambda done, total: heard.append((done, total)))
    assert heard == [(n, operations(OPENAPI_31)) for n in range(1, operations(OPENAPI_31) + 1)]
    assert operations(OPENAPI_31) == 7  # the HEAD operation is listed, not counted
