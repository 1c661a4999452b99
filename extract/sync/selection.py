"""Which tables a sync takes: the names asked for, checked against what the API offers.

``cd2 sync`` and ``cd2 run`` ask with the same resolved settings (``extract.run.select_tables``),
so a namespace the API does not have, or a table no asked namespace offers, is the same one-line
usage error, never a table silently left out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from extract.dap.client import DapClient
from extract.dap.errors import NotFoundError
from extract.failures import UsageError
from extract.names import is_safe_name

log = logging.getLogger("cd2.sync")


def resolve_tables(
    client: DapClient,
    namespaces: Sequence[str],
    wanted: Sequence[str] | None,
    *,
    namespace_fix: str,
    table_fix: str,
) -> list[str]:
    """The qualified names (``namespace.table``) of ``wanted`` (None: every table) in ``namespaces``.
    ``namespace_fix`` / ``table_fix`` say where the caller's names come from, for the error line."""
    for namespace in namespaces:
        if not is_safe_name(namespace):
            raise UsageError(f"{namespace!r} is not a namespace name", namespace_fix)
    if wanted is not None and not wanted:
        raise UsageError("no table is named", table_fix)
    selected: list[str] = []
    for namespace in namespaces:
        try:
            available = client.list_tables(namespace)
        except NotFoundError:
            raise UsageError(f"the DAP API has no namespace {namespace!r}", namespace_fix) from None
        if not available:  # e.g. catalog without a Catalog subscription, or a namespace not yet filled
            log.warning("the DAP API lists no table in namespace %r: nothing to sync there", namespace)
        names = available if wanted is None else [t for t in wanted if t in available]
        selected += [f"{namespace}.{t}" for t in names]
    missing = [t for t in wanted or [] if not any(q.endswith(f".{t}") for q in selected)]
    if missing:
        raise UsageError(f"no table {', '.join(map(repr, missing))} in {', '.join(namespaces)}", table_fix)
    if not selected:
        raise UsageError(f"the DAP API lists no table in namespace {', '.join(map(repr, namespaces))}", namespace_fix)
    return selected
