"""The API's access log keeps a webhook's id and OAuth codes out."""

from __future__ import annotations

import logging

from runtime.logs import AccessLogSecrets


def access_line(path: str) -> str:
    # As uvicorn logs a request: '%s - "%s %s HTTP/%s" %d' with these args.
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", path, "1.1", 202), None)
    AccessLogSecrets().filter(record)
    return record.getMessage()


def test_a_webhook_id_and_oauth_codes_are_masked_and_the_rest_kept():
    assert access_line("/v1.0/webhooks/DuxZ2ojtPBUo6jftDEEl-4w9wJDM1FA7?x=1") == \
        '127.0.0.1:5000 - "POST /v1.0/webhooks/***?x=1 HTTP/1.1" 202'
    assert access_line("/v1.0/connector-auth/callback?state=s3cr3t&code=abc&scope=read") == \
        '127.0.0.1:5000 - "POST /v1.0/connector-auth/callback?state=***&code=***&scope=read HTTP/1.1" 202'
    assert access_line("/v1.0/cycles?page=2") == '127.0.0.1:5000 - "POST /v1.0/cycles?page=2 HTTP/1.1" 202'
