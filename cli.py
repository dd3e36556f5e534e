"""The `cyclewright` command."""

from __future__ import annotations

import asyncio

import typer

app = typer.Typer(no_args_is_help=True, help="Cyclewright: embedded integration platform on Temporal.")


@app.command()
def run(api_port: int = 8000, demo_port: int = 8010, ui_port: int = 8233) -> None:
    """Start Temporal, the demo APIs, the worker and the API, with the demo cycle active."""
    from runtime.launcher import run as run_stack

    run_stack(api_port=api_port, demo_port=demo_port, ui_port=ui_port)


@app.command()
def worker() -> None:
    """Run one worker against TEMPORAL_ADDRESS."""
    from worker import main

    asyncio.run(main())


if __name__ == "__main__":
    app()
