"""TEMPORAL_TLS_* and TEMPORAL_API_KEY: read and checked at start, given to the Temporal client."""

from __future__ import annotations

import dataclasses

import pytest

from runtime.settings import _temporal_tls, settings
from runtime.temporal import _tls


def test_tls_files_become_the_clients_tls_configuration(tmp_path, monkeypatch):
    for name in ("cert", "key", "ca"):
        (tmp_path / name).write_bytes(f"{name} bytes".encode())
        monkeypatch.setenv(f"TEMPORAL_TLS_{name.upper()}", str(tmp_path / name))
    tls = _tls(dataclasses.replace(settings(), temporal_tls=_temporal_tls()))
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (b"cert bytes", b"key bytes",
                                                                                  b"ca bytes")
    assert "key bytes" not in repr(_temporal_tls())


def test_without_tls_files_the_sdk_decides_tls_from_the_api_key(monkeypatch):
    for name in ("CERT", "KEY", "CA"):
        monkeypatch.delenv(f"TEMPORAL_TLS_{name}", raising=False)
    assert _temporal_tls() is None and _tls(dataclasses.replace(settings(), temporal_tls=None)) is None


def test_a_missing_file_or_a_certificate_without_its_key_stops_the_process(tmp_path, monkeypatch):
    monkeypatch.setenv("TEMPORAL_TLS_CA", str(tmp_path / "missing.pem"))
    with pytest.raises(SystemExit, match="TEMPORAL_TLS_CA: cannot read .*missing.pem"):
        _temporal_tls()
    monkeypatch.delenv("TEMPORAL_TLS_CA")
    (tmp_path / "cert").write_bytes(b"cert")
    monkeypatch.setenv("TEMPORAL_TLS_CERT", str(tmp_path / "cert"))
    with pytest.raises(SystemExit, match="TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both"):
        _temporal_tls()
