"""An OpenAPI import never stays Running for ever: one with no sign of life for STALE reads as
Failed, saying why and where to look."""

from __future__ import annotations

from datetime import UTC, datetime

from store.imports import STALE, outcome
from store.tables import OpenApiImport

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def job(status: str, quiet_for, message: str | None = None) -> OpenApiImport:
    updated = (NOW - quiet_for).replace(tzinfo=None)  # as the database gives it back
    return OpenApiImport(id="i1", status=status, document=b"", options={}, message=message, updated_at=updated)


def test_a_running_import_that_shows_signs_of_life_is_running():
    assert outcome(job("Running", STALE / 2), NOW).status == "Running"


def test_a_running_import_silent_for_too_long_reads_as_failed():
    found = outcome(job("Running", STALE * 1.01), NOW)
    assert found.status == "Failed"
    assert "stopped without finishing" in found.message and "workflow import-i1" in found.message


def test_an_import_that_ended_reads_as_it_ended_however_long_ago():
    assert outcome(job("Succeeded", STALE * 100), NOW).status == "Succeeded"
    assert outcome(job("Failed", STALE * 100, "no OpenAPI"), NOW) == outcome(job("Failed", STALE, "no OpenAPI"), NOW)
