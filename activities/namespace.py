"""The Temporal namespace, checked on a cycle's behalf before each run (runtime/namespace.py)."""

from __future__ import annotations

from temporalio import activity

from runtime.namespace import lacking
from workflows import names
from workflows.messages import NamespaceLacks


@activity.defn(name=names.NAMESPACE_LACKS)
async def namespace_lacks() -> NamespaceLacks | None:
    """What the namespace lacks of the search attributes runs are started with; None when nothing."""
    lacks = await lacking(activity.client())
    return NamespaceLacks(str(lacks), lacks.unusable) if lacks else None
