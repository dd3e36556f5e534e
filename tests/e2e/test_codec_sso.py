"""The codec endpoints accept the Temporal Web UI's signed-in user's access token (the UI sends
it with TEMPORAL_CODEC_PASS_ACCESS_TOKEN) when the UI's identity provider is configured: a
token its JWKS verifies, unexpired, from its issuer for its audience; any other token is 401."""

from __future__ import annotations

import base64
import os
import time

import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.conftest import ThreadedServer, partner_client

ISSUER, AUDIENCE = "https://sso.example.com/", "temporal-ui"
PROVIDER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-1"})


def provider() -> FastAPI:
    app = FastAPI()
    app.get("/jwks")(lambda: KeySet([PROVIDER_KEY]).as_dict(private=False))
    return app


def sso_token(key: RSAKey = PROVIDER_KEY, lifetime: int = 300, **claims: str) -> str:
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "operator@example.com", "exp": int(time.time()) + lifetime}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body | claims, key)


async def test_the_ui_users_token_decodes_and_no_other_does(private_stack):
    with ThreadedServer(provider()) as sso:
        stack = private_stack(PAYLOAD_ENCRYPTION_KEY=f"k1:{base64.b64encode(os.urandom(32)).decode()}",
                              CYCLEWRIGHT_CODEC_SSO_JWKS_URL=f"{sso.url}/jwks",
                              CYCLEWRIGHT_CODEC_SSO_ISSUER=ISSUER, CYCLEWRIGHT_CODEC_SSO_AUDIENCE=AUDIENCE)
        plain = {"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                               "data": base64.b64encode(b'{"cycle": "c-1"}').decode()}]}
        async with partner_client(stack.api_url) as api:
            sealed = (await api.post("/codec/encode", json=plain)).json()
        assert sealed["payloads"][0]["data"] != plain["payloads"][0]["data"]

        async def decode(token: str) -> httpx.Response:
            async with httpx.AsyncClient(base_url=stack.api_url) as ui:
                return await ui.post("/codec/decode", json=sealed, headers={"Authorization": f"Bearer {token}"})

        answer = await decode(sso_token())
        assert answer.status_code == 200 and answer.json() == plain, answer.text
        stranger = RSAKey.generate_key(2048, parameters={"kid": "provider-1"})  # same key id, other key
        for refused in (sso_token(stranger), sso_token(RSAKey.generate_key(2048, parameters={"kid": "other"})),
                        sso_token(aud="another-app"), sso_token(iss="https://evil.example.com/"),
                        sso_token(lifetime=-60), "not-a-token"):
            assert (await decode(refused)).status_code == 401
