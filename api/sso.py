"""Access tokens of the Temporal Web UI's own sign-in (OIDC), for the codec endpoints.

With `TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true` the UI sends its signed-in user's access token to
the codec server: a token of the UI's identity provider, which no partner token can be. With
CYCLEWRIGHT_CODEC_SSO_JWKS_URL set, /codec also accepts a token signed by a key of that JWKS,
unexpired, and from CYCLEWRIGHT_CODEC_SSO_ISSUER for CYCLEWRIGHT_CODEC_SSO_AUDIENCE when set.
"""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from connectors import nesting

KEYS_KEPT_FOR = 300.0  # seconds: a provider's rotated key is fetched within this, or at its first use
REFETCH_AT_MOST_EVERY = 30.0  # an unknown key id refetches, but tokens made up cannot hammer the provider
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class SsoTokens:
    def __init__(self, jwks_url: str, issuer: str | None, audience: str | None) -> None:
        self.jwks_url, self.issuer, self.audience = jwks_url, issuer, audience
        self._keys: KeySet | None = None
        self._fetched = 0.0

    async def valid(self, token: str) -> bool:
        """Whether `token` is a current access token of the UI's identity provider."""
        for refetch in (False, True):
            keys = await self._key_set(refetch)
            if keys is None:
                return False
            try:
                claims = jwt.decode(token, keys, algorithms=ALGORITHMS).claims
            except InvalidKeyIdError:  # a key the provider may have added since: fetch them again
                continue
            except JoseError:
                return False
            return self._current(claims)
        return False

    def _current(self, claims: dict) -> bool:
        checks: dict = {"exp": {"essential": True}}
        if self.issuer:
            checks["iss"] = {"essential": True, "value": self.issuer}
        if self.audience:
            checks["aud"] = {"essential": True, "value": self.audience}
        try:
            jwt.JWTClaimsRegistry(**checks).validate(claims)
        except JoseError:
            return False
        return True

    async def _key_set(self, refetch: bool) -> KeySet | None:
        age = time.monotonic() - self._fetched
        if self._keys is None or age > KEYS_KEPT_FOR or (refetch and age > REFETCH_AT_MOST_EVERY):
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.get(self.jwks_url)
                    response.raise_for_status()
                    self._keys = KeySet.import_key_set(nesting.loads(response.content, "the JWKS"))
            except (httpx.HTTPError, ValueError, nesting.TooDeep):
                pass  # the provider is away: keys already known still serve
            self._fetched = time.monotonic()
        return self._keys
