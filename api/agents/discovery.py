"""How an MCP client finds its way to a token (the MCP authorization spec): the protected
resource's metadata (RFC 9728) names the product as its authorization server, whose metadata
(RFC 8414) points at the product's own token endpoint (POST /oauth/token, client credentials,
scope `agent:<id>`, or `account:<id>`). A 401 from /mcp names the resource metadata (api/agents/server.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata

from api.errors import ApiError
from runtime.settings import settings

MCP_PATH = "/mcp"
RESOURCE_METADATA = "/.well-known/oauth-protected-resource"
router = APIRouter(tags=["agents"])


def public_url() -> str:
    return settings().public_url.rstrip("/")


def resource_metadata_url() -> str:
    """RFC 9728 §3.1: the well-known path, then the resource's own path."""
    return f"{public_url()}{RESOURCE_METADATA}{MCP_PATH}"


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


@router.get(RESOURCE_METADATA + MCP_PATH, summary="The MCP server's protected resource metadata (RFC 9728)")
@router.get(RESOURCE_METADATA, include_in_schema=False)
async def protected_resource() -> dict[str, Any]:
    return _dump(ProtectedResourceMetadata(
        resource=f"{public_url()}{MCP_PATH}", authorization_servers=[public_url()], resource_name="Cyclewright",
        bearer_methods_supported=["header"]))


@router.get("/.well-known/oauth-authorization-server", summary="The authorization server's metadata (RFC 8414)")
async def authorization_server() -> dict[str, Any]:
    base = public_url()
    return _dump(OAuthMetadata(
        issuer=base, token_endpoint=f"{base}/oauth/token", authorization_endpoint=f"{base}/oauth/authorize",
        grant_types_supported=["client_credentials"], response_types_supported=[],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"]))


@router.get("/oauth/authorize", summary="No authorization code flow: tokens come from client credentials",
            include_in_schema=False)
async def authorize() -> None:
    message = "tokens are issued by client credentials only: POST /oauth/token with scope agent:<id>"
    raise ApiError(400, message, extra={"error": "unsupported_response_type", "error_description": message})
