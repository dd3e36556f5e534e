"""Temporal payloads: the pydantic converter, with large payloads kept outside history.

Record batches can be large; above 256 KiB a payload is written to a shared folder
(content-addressed, so a retried write is harmless) and history holds only its claim.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)

THRESHOLD = 256 * 1024


class FileStorageDriver(StorageDriver):
    """Payloads as files in a folder every worker and API process can reach."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def name(self) -> str:
        return "file"

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        return await asyncio.to_thread(lambda: [self._write(p) for p in payloads])

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        return await asyncio.to_thread(lambda: [self._read(c) for c in claims])

    def _write(self, payload: Payload) -> StorageDriverClaim:
        data = payload.SerializeToString(deterministic=True)
        digest = hashlib.sha256(data).hexdigest()
        path = self.folder / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(path)  # atomic: readers never see half a payload
        return StorageDriverClaim({"sha256": digest})

    def _read(self, claim: StorageDriverClaim) -> Payload:
        digest = claim.claim_data["sha256"]
        return Payload.FromString((self.folder / digest[:2] / digest).read_bytes())


def data_converter(payload_dir: Path) -> DataConverter:
    storage = ExternalStorage(drivers=[FileStorageDriver(payload_dir)], payload_size_threshold=THRESHOLD)
    return dataclasses.replace(pydantic_data_converter, external_storage=storage)
