"""Delta rounds, shared by contacts and the calendar: full rounds, next links, delta links.

A full round lists what the collection holds now. An incremental round (a delta link replayed)
lists what changed since the round that issued the link: removed items as `@removed`, new ones
whole, and updated ones with only the properties that changed (`partial_delta`, on by default:
"updated instances are represented by their id with *at least* the properties that have been
updated").
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ._common import _DeltaState, _HttpError, _Mailbox
from ._handler import _BaseHandler

SKIP: dict[str, Any] = {}  # `current` answer: the round does not mention this item at all
Current = Callable[[_Mailbox, _DeltaState, str], "dict[str, Any] | None"]
Initial = Callable[[], list[str]]

# What an updated item always carries besides the changed properties.
ALWAYS = ("@odata.type", "@odata.etag", "id", "changeKey", "lastModifiedDateTime")


class DeltaRoutes(_BaseHandler):
    """`_delta` answers one request of a round; `current` says what an item looks like now
    (None: gone), `initial` lists a full round's items."""

    def _delta(  # noqa: PLR0917
        self,
        mb: _Mailbox,
        collection: str,
        window: tuple[datetime, datetime] | None,
        query: dict[str, str],
        base: str,
        cap: int,
        current: Current,
        initial: Initial,
    ) -> tuple[int, Any, dict[str, str]]:
        token = query.get("$skiptoken") or query.get("$deltatoken")
        if token is not None:
            # Skip tokens stay valid when replayed (a client may retry a lost page).
            state = self.sim._tokens.get(token) if "$skiptoken" in query else None
            if "$deltatoken" in query:
                stored = self.sim._tokens.get(token)
                if stored is not None:
                    state = self._start_incremental(mb, stored)
            if state is None or state.mailbox != mb.upn.lower() or state.collection != collection:
                status, code = self.sim._expired.get(token, (410, "SyncStateNotFound"))
                raise _HttpError(
                    status, code, "The sync state generation is not found. Please start a new sync."
                )
        else:
            high = mb.changes[-1][0] if mb.changes else 0
            state = _DeltaState(mb.upn.lower(), collection, window, None, initial(), 0, high)
        size = self._page_size(cap)
        page_ids = state.ids[state.offset : state.offset + size]
        values: list[dict[str, Any]] = []
        for item_id in page_ids:
            item = current(mb, state, item_id)
            if item is SKIP:
                continue
            if item is not None:
                values.append(self._render(item, state.fields.get(item_id)))
            elif state.since_seq is not None:
                values.append({"id": item_id, "@removed": {"reason": "deleted"}})
        payload: dict[str, Any] = {
            "@odata.context": f"{self.sim.graph_url}/$metadata#Collection(contact)",
            "value": values,
        }
        new_token = secrets.token_urlsafe(24)
        if state.offset + len(page_ids) < len(state.ids):
            self.sim._tokens[new_token] = replace(state, offset=state.offset + len(page_ids))
            payload["@odata.nextLink"] = f"{self.sim.graph_url}{base}?$skiptoken={new_token}"
        else:
            self.sim._tokens[new_token] = _DeltaState(
                state.mailbox, collection, state.window, state.high_seq, [], 0, state.high_seq
            )
            payload["@odata.deltaLink"] = f"{self.sim.graph_url}{base}?$deltatoken={new_token}"
        return 200, payload, {}

    def _render(self, item: dict[str, Any], changed: frozenset[str] | None) -> dict[str, Any]:
        """The whole item, or (an update, partial_delta on) its id with what changed."""
        if changed is None or not self.sim.partial_delta or item.get("type") == "occurrence":
            return item
        return {k: item[k] for k in (*ALWAYS, *sorted(changed)) if k in item}

    def _start_incremental(self, mb: _Mailbox, stored: _DeltaState) -> _DeltaState:
        since = stored.since_seq or 0
        latest: dict[str, int] = {}
        fields: dict[str, frozenset[str] | None] = {}
        for seq, collection, item_id, changed in mb.changes:
            if seq > since and collection == stored.collection:
                latest[item_id] = seq
                known = fields.get(item_id, frozenset())
                fields[item_id] = None if changed is None or known is None else known | changed
        high = mb.changes[-1][0] if mb.changes else since
        ids = sorted(latest, key=latest.__getitem__)
        return _DeltaState(
            stored.mailbox, stored.collection, stored.window, since, ids, 0, high, fields
        )
