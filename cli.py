"""The `cyclewright` command."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from connectors.schema import CATALOG_COPY, connector_json_schema

app = typer.Typer(no_args_is_help=True, help="Cyclewright: embedded integration platform on Temporal.")
connector_app = typer.Typer(no_args_is_help=True, help="Check and try connector files.")
app.add_typer(connector_app, name="connector")
db_app = typer.Typer(no_args_is_help=True, help="The database: DATABASE_URL, or the data folder's SQLite file.")
app.add_typer(db_app, name="db")
console = Console(soft_wrap=True)


@app.command()
def run() -> None:
    """Start Temporal, the demo APIs, the worker and the API, with the demo cycle active. Ports:
    CYCLEWRIGHT_API_PORT (8000), CYCLEWRIGHT_DEMO_PORT (8010), CYCLEWRIGHT_TEMPORAL_PORT (7233),
    CYCLEWRIGHT_TEMPORAL_UI_PORT (8233), CYCLEWRIGHT_METRICS_PORT (9464)."""
    from runtime.launcher import run as run_stack

    run_stack()


@app.command()
def worker() -> None:
    """Run one worker against TEMPORAL_ADDRESS."""
    from worker import main

    asyncio.run(main())


@app.command()
def setup() -> None:
    """Create TEMPORAL_ADDRESS's namespace if it does not exist, and register Cyclewright's search
    attributes on it (those it lacks; safe to rerun)."""
    from temporalio.service import RPCError

    from runtime.namespace import NamespaceNotReady, SetUp
    from runtime.namespace import setup as set_up
    from runtime.settings import settings
    from runtime.temporal import connect

    async def go() -> SetUp:
        return await set_up(await connect(settings()))

    config = settings()
    where = f"namespace {config.temporal_namespace} at {config.temporal_address}"
    try:
        done = asyncio.run(go())
    except NamespaceNotReady as err:
        console.print(f"[red]{err} (Temporal at {config.temporal_address})[/red]", markup=True)
        _exit_now(1)
    except (RPCError, RuntimeError) as err:  # RuntimeError: the client could not connect
        console.print(f"[red]{where}: cannot register the search attributes: {err}[/red]", markup=True)
        _exit_now(1)
    if done.created:
        console.print(f"[green]created {where}[/green]")
    if done.added:
        console.print(f"[green]{where}: added search attribute(s) {', '.join(done.added)}[/green]")
    elif not done.created:
        console.print(f"{where}: every search attribute was already there")
    _exit_now()


def _exit_now(code: int = 0) -> NoReturn:
    """End a command that used a Temporal client without the interpreter's teardown: the SDK's
    Rust threads may outlive it and abort the process as it finalizes ("PyGILState_Release",
    temporalio/sdk-python#300), turning a command that succeeded into a crash."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@db_app.command()
def upgrade() -> None:
    """Upgrade the database's schema to this version's (every process also does as it starts):
    run it before rolling out a new version, so no process waits for another's migration."""
    from alembic.migration import MigrationContext

    from store.database import engine

    with engine().connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    console.print(f"[green]the database is at revision {revision}[/green]")


def _load(file: Path):
    from connectors import ConnectorInvalid, nesting, parse_connector

    try:
        document = nesting.loads(file.read_text(), "the file")
    except (OSError, json.JSONDecodeError, nesting.TooDeep) as err:
        console.print(f"[red]{file}: cannot read JSON: {err}[/red]")
        raise typer.Exit(1) from None
    try:
        return parse_connector(document)
    except ConnectorInvalid as err:
        console.print(f"[red]{file}: {len(err.problems)} problem(s)[/red]")
        for problem in err.problems:
            console.print(f"  {problem.path}: {problem.message}", markup=False)
        raise typer.Exit(1) from None


def _notices(notices: list, title: str) -> None:
    if notices:
        console.print(f"[yellow]{len(notices)} {title}[/yellow]")
        for notice in notices:
            console.print(f"  {notice.path}: {notice.message}", markup=False)


@connector_app.command()
def validate(file: Path) -> None:
    """Check a connector file; print every problem with its JSON path, and what it ignores."""
    from connectors import ignored_properties

    connector = _load(file)
    console.print(f"[green]{file}: valid[/green] — {connector.Name} {connector.Version}, "
                  f"{len(connector.Methods)} method(s)")
    _notices(ignored_properties(json.loads(file.read_text())), "property(ies) ignored")


@connector_app.command()
def schema(out: Annotated[Path, typer.Option(help="where to write it")] = CATALOG_COPY) -> None:
    """Write the connector format as JSON Schema, for editors (the catalog's copy by default)."""
    out.write_text(json.dumps(connector_json_schema(), indent=2) + "\n")
    console.print(f"wrote {out}")


@connector_app.command("import-openapi")
def import_openapi(
    file: Path,
    out: Annotated[Path | None, typer.Option(help="where to write the connector (FILE.connector.json)")] = None,
    base_url: Annotated[str | None, typer.Option(help="BaseUrl's default, instead of the document's first "
                                                      "server")] = None,
    auth_type: Annotated[str | None, typer.Option(help="an authentication, the connector's default: None, ApiKey, "
                                                       "Basic, Bearer or OAuth2 (for a document that declares "
                                                       "none, say)")] = None,
    api_key_name: Annotated[str | None, typer.Option(help="ApiKey: the header or query parameter")] = None,
    api_key_location: Annotated[str | None, typer.Option(help="ApiKey: Header, QueryString or Body")] = None,
    oauth2_type: Annotated[str | None, typer.Option(help="OAuth2: AuthorisationCode, ClientCredentials or "
                                                         "PasswordCredentials")] = None,
    authorise_url: Annotated[str | None, typer.Option(help="OAuth2: the consent page")] = None,
    access_token_url: Annotated[str | None, typer.Option(help="OAuth2: the token endpoint")] = None,
    scope: Annotated[list[str], typer.Option(help="OAuth2: a scope (repeat for each)")] = [],  # noqa: B006
) -> None:
    """Turn an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML) into a connector file; list what it skips."""
    from connectors import ConnectorInvalid, parse_connector
    from connectors.nesting import TooDeep
    from connectors.openapi import (
        NotOpenApi,
        Options,
        authentication_problems,
        import_openapi,
        load,
    )

    options = {"--auth-type": ("AuthType", auth_type), "--api-key-name": ("ApiKeyName", api_key_name),
               "--api-key-location": ("ApiKeyLocation", api_key_location), "--oauth2-type": ("OAuth2Type", oauth2_type),
               "--authorise-url": ("AuthoriseUrl", authorise_url), "--access-token-url": ("AccessTokenUrl", access_token_url),
               "--scope": ("Scopes", scope or None)}
    chosen = {name: value for name, value in options.values() if value is not None}
    problems = authentication_problems(chosen) if chosen else []
    for problem in problems:
        option = next((o for o, (name, _) in options.items() if name == problem.path.partition("[")[0]), "--auth-type")
        console.print(f"{option}: {problem.message}", style="red", markup=False)
    if problems:
        raise typer.Exit(1)
    try:
        imported = import_openapi(load(file.read_bytes()), Options(base_url, chosen or None))
    except OSError as err:
        console.print(f"[red]{file}: cannot read it: {err}[/red]")
        raise typer.Exit(1) from None
    except (NotOpenApi, TooDeep) as err:
        console.print(f"[red]{file}: {err}[/red]")
        raise typer.Exit(1) from None
    try:
        connector = parse_connector(imported.document)
    except ConnectorInvalid as err:  # a bug of the importer's: say what, rather than write a bad file
        console.print(f"[red]{file}: the connector made of it is invalid: {err}[/red]")
        raise typer.Exit(1) from None
    out = out or Path(file.name.rsplit(".", 1)[0] + ".connector.json")
    out.write_text(json.dumps(imported.document, indent=2) + "\n")
    console.print(f"[green]wrote {out}[/green] — {connector.Name} {connector.Version}, "
                  f"{len(connector.Methods)} method(s), {len(connector.Authentication)} authentication(s)")
    _notices(imported.skipped, "item(s) not converted")


@connector_app.command("list")
def list_catalog() -> None:
    """The catalog of real vendors' connectors (catalog/vendors): name, authentication, paging."""
    from connectors.catalog import entries

    for entry in entries().values():
        console.print(f"[bold]{entry.name}[/bold] — {entry.connector.Name} {entry.connector.Version}, "
                      f"{len(entry.connector.Methods)} method(s); auth: {', '.join(entry.authentication)}; "
                      f"paging: {', '.join(entry.paging) or 'none'}")


ApiUrl = Annotated[str, typer.Option(envvar="CYCLEWRIGHT_PUBLIC_URL", help="the running API")]
ClientId = Annotated[str, typer.Option(envvar="CYCLEWRIGHT_CLIENT_ID", help="the partner login")]
ClientSecret = Annotated[str | None, typer.Option(envvar="CYCLEWRIGHT_CLIENT_SECRET",
                                                  help="(make run's: .data/client.secret)")]


@connector_app.command()
def install(name: str, api_url: ApiUrl = "http://127.0.0.1:8000", client_id: ClientId = "cyclewright-dev",
            client_secret: ClientSecret = None) -> None:
    """Install a catalog connector (see `connector list`) into a running Cyclewright, through its API."""
    response = _partner_call(api_url, client_id, client_secret, "POST", f"/v1.0/catalog/{name}/install")
    installed = response.json()
    what = "already installed" if response.status_code == 200 else f"installed ({installed['ReleaseStatus']})"
    console.print(f"[green]{installed['Name']} {installed['Version']}: {what}[/green] — connector {installed['Id']}")


@app.command()
def portal(
    account: Annotated[str | None, typer.Argument(help="the account's id (default: make run's demo account)")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000", client_id: ClientId = "cyclewright-dev",
    client_secret: ClientSecret = None,
) -> None:
    """Open the connect portal for an account as its users see it: prints a link (valid an hour)."""
    from runtime.catalog import DEMO_ACCOUNT

    if account is None:
        accounts = _partner_call(api_url, client_id, client_secret, "GET", "/v1.0/accounts").json()
        account = next((a["Id"] for a in accounts if a["Name"] == DEMO_ACCOUNT), None)
        if account is None:
            console.print(f"[red]no account is named '{DEMO_ACCOUNT}': name one (GET /v1.0/accounts)[/red]")
            raise typer.Exit(1)
    session = _partner_call(api_url, client_id, client_secret, "POST", f"/v1.0/accounts/{account}/portal-sessions",
                            json={"ExpiresIn": 3600}).json()
    console.print(f"{session['Url']}#token={session['Token']}", markup=False, soft_wrap=True)


def _partner_call(api_url: str, client_id: str, client_secret: str | None, method: str, path: str,
                  **options: Any) -> Any:
    """One call to the running API with a partner token; its error printed and exit 1 when refused."""
    import httpx

    secret = client_secret or _data_file("client.secret")
    try:
        token = httpx.post(f"{api_url}/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                           "client_secret": secret}, timeout=30)
        if token.status_code != 200:
            raise _refused(token)
        response = httpx.request(method, f"{api_url}{path}", timeout=60, **options,
                                 headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    except httpx.TransportError as err:
        console.print(f"[red]cannot reach the API at {api_url}: {err}[/red]", markup=True)
        raise typer.Exit(1) from None
    if response.status_code >= 300:
        raise _refused(response)
    return response


def _data_file(name: str) -> str | None:
    from runtime.settings import settings

    path = Path(settings().data_dir) / name
    return path.read_text().strip() if path.exists() else None


def _refused(response) -> typer.Exit:
    try:
        message = response.json().get("Message") or response.text
    except ValueError:
        message = response.text
    console.print(f"{response.request.method} {response.request.url}: {response.status_code} {message}", style="red",
                  markup=False)
    return typer.Exit(1)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        pairs[name] = text
    return pairs


@connector_app.command()
def call(
    file: Path,
    method: str,
    auth: Annotated[str | None, typer.Option(help="AuthValue: API key, token, or base64 user:password")] = None,
    param: Annotated[list[str], typer.Option(help="a method parameter, NAME=VALUE")] = [],  # noqa: B006
    prop: Annotated[list[str], typer.Option("--property", help="an account connector property")] = [],  # noqa: B006
    field: Annotated[list[str], typer.Option(help="a request field by SystemField")] = [],  # noqa: B006
    all_pages: bool = False,
    scripts: Annotated[bool, typer.Option(help="run the connector's scripts; --no-scripts shows the "
                                               "exchange without them")] = True,
) -> None:
    """Call one method: print each HTTP exchange as sent (after the scripts; secrets masked),
    the script's requests among them, and the mapped records."""
    from connectors import ConnectorError, Credentials, fetch_pages
    from connectors.client import http_client
    from runtime.settings import settings

    connector = _load(file)
    if not scripts:
        connector = connector.model_copy(update={
            "Script": None, "Methods": [m.model_copy(update={"Script": None}) for m in connector.Methods]})
    exchanges = []

    async def go():
        async with http_client(30, settings().egress) as client:
            return await fetch_pages(
                client, connector, method, credentials=Credentials(auth, _pairs(prop, "--property")),
                parameters=_pairs(param, "--param"), fields=_pairs(field, "--field"),
                max_pages=None if all_pages else 1, on_exchange=exchanges.append,
            )

    try:
        pages = asyncio.run(go())
    except ConnectorError as err:
        pages, error = None, err
    for exchange in exchanges:
        console.rule(f"{exchange.method} {exchange.url}")
        console.print_json(data={k: v for k, v in dataclasses.asdict(exchange).items() if v is not None})
    if pages is None:
        console.print(f"[red]{error}[/red]", markup=True)
        raise typer.Exit(1)
    console.rule(f"{len(pages.records)} record(s) from {pages.pages} page(s)")
    console.print_json(data=pages.records)
    for warning in pages.warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")


if __name__ == "__main__":
    app()
