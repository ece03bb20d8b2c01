"""The Mailchimp connector: audiences in, permanent deletes out.

- pull: one stream per audience (`audience:{list_id}`); see pull.py for rounds and paging.
- locate: GET /lists/{id}/members/{hash} in every audience in scope. Exact (the id is the MD5 of
  the lower-cased address), covers every status including archived, and costs one request per
  audience; /lists?email= and /search-members are cheaper for many audiences but their
  documentation says nothing of archived members, so they are not trusted for erasure.
- erase: POST .../actions/delete-permanent in the audience of the record (archiving is not
  erasure); 404 -> already absent. Writes are not retried here: the engine retries the task.
- verify: the records given plus a fresh locate; a member that still answers GET is still there.
- unsubscribe (objection): PATCH status=unsubscribed, nothing deleted.
- export (access): the live member fields of one record.
- rectify (rectification): PATCH merge_fields FNAME/LNAME and/or email_address in the record's
  audience; a new address gives the member a new id (the MD5 of it). Mailchimp refuses an
  address that is a member of the audience already ("Member Exists") or was permanently deleted
  from it ("Forgotten Email Not Subscribed"): a PermanentError with the operator's next step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from syncaudit.clock import Clock
from syncaudit.contract import (
    Action,
    Change,
    Correction,
    ErasureTarget,
    Outcome,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RecordRef,
    StreamProblem,
    SystemProfile,
)
from syncaudit.errors import PermanentError
from syncaudit.retry import DEFAULT_POLICY, RetryPolicy
from syncaudit_mailchimp.cursor import StreamCursor, iso
from syncaudit_mailchimp.members import (
    EXPORT_EXCLUDE,
    IDENTITY_FIELDS,
    LISTING_FIELDS,
    candidate_hashes,
    holds,
    list_id_of,
    locator_for,
    stream_for,
    subscriber_hash,
)
from syncaudit_mailchimp.pull import PAGE_SIZE, AudienceReader, Listing
from syncaudit_mailchimp.settings import CAPABILITIES, MailchimpSettings
from syncaudit_mailchimp.transport import NotFound, Refused, Transport

log = structlog.get_logger(__name__)

_NO_MARKETING = frozenset({"unsubscribed", "cleaned", "archived"})


@dataclass(frozen=True)
class Audience:
    id: str
    name: str | None = None


class MailchimpConnector:
    kind = "mailchimp"

    def __init__(
        self,
        name: str,
        settings: MailchimpSettings,
        profile: SystemProfile,
        *,
        clock: Clock,
        policy: RetryPolicy = DEFAULT_POLICY,
        transport: Transport | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.name = name
        self.profile = profile
        self.settings = settings
        self.capabilities = CAPABILITIES
        self._clock = clock
        self._policy = policy
        self._transport = transport or Transport(settings)
        self._page_size = page_size

    @property
    def requests_made(self) -> int:
        return self._transport.requests_made

    def close(self) -> None:
        self._transport.close()

    # -- reads, retried in place -----------------------------------------------------------

    def _read(self, what: str, fn: Any) -> Any:
        return self._policy.call(
            lambda: self._transport.call(what, fn), clock=self._clock, what=f"mailchimp.{what}"
        )

    def _audiences(self) -> list[Audience]:
        if self.settings.audiences:
            return [Audience(list_id) for list_id in self.settings.audiences]
        found: list[Audience] = []
        offset = 0
        while True:
            page = self._read(
                "lists",
                lambda c, o=offset: c.lists.get_all_lists(
                    fields=["lists.id", "lists.name", "total_items"], count=1000, offset=o
                ),
            )
            lists = page.get("lists") or []
            found.extend(Audience(str(a["id"]), a.get("name")) for a in lists if a.get("id"))
            offset += len(lists)
            if not lists or offset >= int(page.get("total_items") or 0):
                return found

    def _member(self, list_id: str, member_id: str, fields: list[str]) -> dict[str, Any] | None:
        try:
            member: dict[str, Any] = self._read(
                "get member",
                lambda c: c.lists.get_list_member(list_id, member_id, fields=fields),
            )
        except NotFound:
            return None
        return member

    def _fetch_page(self, list_id: str, listing: Listing, offset: int) -> Mapping[str, Any]:
        kwargs: dict[str, Any] = {
            "fields": LISTING_FIELDS,
            "count": self._page_size,
            "offset": offset,
            "sort_field": "last_changed",
            "sort_dir": "DESC",
        }
        if listing.status:
            kwargs["status"] = listing.status
        if listing.since is not None:
            kwargs["since_last_changed"] = iso(listing.since)
        page: Mapping[str, Any] = self._read(
            "list members", lambda c: c.lists.get_list_members_info(list_id, **kwargs)
        )
        return page

    # -- the contract ----------------------------------------------------------------------

    def check(self) -> str:
        self._read("ping", lambda c: c.ping.get())
        audiences = self._audiences()
        for audience in audiences if self.settings.audiences else ():
            try:
                self._read(
                    "get audience", lambda c, a=audience: c.lists.get_list(a.id, fields=["id"])
                )
            except NotFound:
                raise PermanentError(
                    f"mailchimp audience {audience.id} does not exist",
                    next_step="Fix `audiences` in the config (empty = every audience).",
                ) from None
        where = self.settings.base_url or f"data centre {self.settings.data_centre}"
        return f"Mailchimp ({where}): {len(audiences)} audience(s) reachable"

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        now = self._clock.now()
        for audience in self._audiences():
            reader = AudienceReader(
                audience.id,
                self._fetch_page,
                lag=timedelta(seconds=self.settings.lag_seconds),
                reconcile_every=timedelta(days=self.settings.reconcile_days),
                page_size=self._page_size,
            )
            cursor_text = cursors.get(reader.stream)
            cursor = StreamCursor.loads(cursor_text)
            if cursor_text and cursor is None:
                log.warning("mailchimp.cursor_unreadable", audience=audience.id)
            try:
                yield from reader.run(cursor, full=full, now=now)
            except NotFound:
                log.warning("mailchimp.audience_missing", audience=audience.id)
                yield StreamProblem(
                    stream=reader.stream,
                    message=f"audience {audience.id} not found (deleted, or a typo in audiences)",
                )

    def locate(self, target: ErasureTarget) -> list[RecordRef]:
        return [ref for ref, _ in self._locate(target, self._audiences())]

    def _locate(
        self, target: ErasureTarget, audiences: Sequence[Audience]
    ) -> list[tuple[RecordRef, str]]:
        """The person's members in `audiences`, each with its audience id."""
        found: list[tuple[RecordRef, str]] = []
        for audience in audiences:
            for member_id in candidate_hashes(target.email):
                member = self._member(audience.id, member_id, IDENTITY_FIELDS)
                if member is not None and holds(member, target):
                    found.append((self._ref(audience, str(member["id"]), member), audience.id))
                    break
        log.info("mailchimp.located", records=len(found))
        return found

    def _ref(self, audience: Audience, member_id: str, member: Mapping[str, Any]) -> RecordRef:
        where = f"audience {audience.name!r} ({audience.id})" if audience.name else audience.id
        return RecordRef(
            system=self.name,
            kind=RecordKind.AUDIENCE_MEMBER,
            external_id=member_id,
            stream=stream_for(audience.id),
            locator=locator_for(audience.id),
            label=f"member of {where}, status {member.get('status', 'unknown')}",
        )

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        return PlannedAction(
            ref=ref,
            action=Action.DELETE,
            explanation=(
                f"permanently delete the member from audience {_list_id(ref)} "
                "(delete-permanent: the address can come back only if the person signs up again)"
            ),
        )

    def _identify(self, ref: RecordRef, target: ErasureTarget) -> bool | None:
        """Whether the ref's member is the person: True, False (someone else), None (absent)."""
        if ref.external_id in candidate_hashes(target.email):
            return True  # the id *is* the hash of the address
        member = self._member(_list_id(ref), ref.external_id, IDENTITY_FIELDS)
        if member is None:
            return None
        return holds(member, target)

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        list_id = _list_id(ref)
        if not self._identify(ref, target):
            return Outcome(
                status=OutcomeStatus.ALREADY_ABSENT,
                ref=ref,
                detail="the record does not hold this address",
            )
        try:
            self._transport.call(
                "delete member permanently",
                lambda c: c.lists.delete_list_member_permanent(list_id, ref.external_id),
                expect_body=False,
            )
        except NotFound:
            log.info("mailchimp.erase", audience=list_id, outcome="already_absent")
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="not in audience")
        log.info("mailchimp.erase", audience=list_id, outcome="erased")
        return Outcome(
            status=OutcomeStatus.ERASED, ref=ref, detail="permanently deleted (delete-permanent)"
        )

    def verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        audiences = self._audiences()
        remaining = {
            (list_id, ref.external_id): ref for ref, list_id in self._locate(target, audiences)
        }
        hashes = candidate_hashes(target.email)
        checked = {(a.id, h) for a in audiences for h in hashes}  # what _locate just asked
        for ref in refs:
            key = (_list_id(ref), ref.external_id)
            if key in remaining or key in checked:
                continue
            checked.add(key)
            member = self._member(key[0], ref.external_id, IDENTITY_FIELDS)
            if member is not None and holds(member, target):
                remaining[key] = ref
        log.info("mailchimp.verified", remaining=len(remaining))
        return list(remaining.values())

    # -- optional capabilities -------------------------------------------------------------

    def unsubscribe(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        """Objection to direct marketing: status -> unsubscribed. Nothing is deleted."""
        list_id = _list_id(ref)
        member = self._member(list_id, ref.external_id, IDENTITY_FIELDS)
        if member is None or not holds(member, target):
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="no such member")
        status = str(member.get("status"))
        if status in _NO_MARKETING:
            return Outcome(
                status=OutcomeStatus.ALREADY_ABSENT,
                ref=ref,
                detail=f"receives no marketing already (status {status})",
            )
        try:
            self._transport.call(
                "unsubscribe member",
                lambda c: c.lists.update_list_member(
                    list_id, ref.external_id, {"status": "unsubscribed"}
                ),
            )
        except NotFound:
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="no such member")
        log.info("mailchimp.unsubscribed", audience=list_id)
        return Outcome(
            status=OutcomeStatus.ERASED,
            ref=ref,
            detail=f"unsubscribed (was {status}); nothing deleted",
        )

    def export(self, ref: RecordRef, target: ErasureTarget) -> Mapping[str, Any]:
        """The live fields of the person's member record; {} if it is gone or not theirs."""
        list_id = _list_id(ref)
        try:
            member: dict[str, Any] = self._read(
                "export member",
                lambda c: c.lists.get_list_member(
                    list_id, ref.external_id, exclude_fields=EXPORT_EXCLUDE
                ),
            )
        except NotFound:
            return {}
        if not holds(member, target):
            return {}
        audience = self._read("get audience", lambda c: c.lists.get_list(list_id, fields=["name"]))
        return {
            "system": self.name,
            "audience": {"id": list_id, "name": audience.get("name")},
            "email_address": member.get("email_address"),
            "full_name": member.get("full_name"),
            "status": member.get("status"),
            "timestamp_signup": member.get("timestamp_signup"),
            "ip_signup": member.get("ip_signup"),
            "timestamp_opt": member.get("timestamp_opt"),
            "ip_opt": member.get("ip_opt"),
            "last_changed": member.get("last_changed"),
            "language": member.get("language"),
            "source": member.get("source"),
            "location": member.get("location"),
            "merge_fields": member.get("merge_fields") or {},
            "tags": [t.get("name") for t in member.get("tags") or [] if isinstance(t, dict)],
            "marketing_permissions": member.get("marketing_permissions") or [],
        }

    # -- rectification ---------------------------------------------------------------------

    def _current(
        self, ref: RecordRef, target: ErasureTarget, fix: Correction
    ) -> tuple[RecordRef, dict[str, Any] | None]:
        """The member as it is now: under its id, or (the address changed already) the new."""
        list_id = _list_id(ref)
        member = self._member(list_id, ref.external_id, RECTIFY_FIELDS)
        if member is not None and holds(member, target):
            return ref, member
        if fix.email:
            moved = self._moved(ref, fix.email)
            member = self._member(list_id, moved.external_id, RECTIFY_FIELDS)
            if member is not None and fix.is_new_address(member.get("email_address")):
                return moved, member
        return ref, None

    def _moved(self, ref: RecordRef, email: str) -> RecordRef:
        return RecordRef(
            system=ref.system,
            kind=ref.kind,
            external_id=subscriber_hash(email),
            stream=ref.stream,
            locator=ref.locator,
            label=ref.label,
        )

    def preview_rectification(
        self, ref: RecordRef, target: ErasureTarget, correction: Correction
    ) -> PlannedAction:
        now, member = self._current(ref, target, correction)
        if member is None:
            return PlannedAction(ref=ref, action=Action.NONE, explanation="no longer there")
        patch = _member_patch(member, correction)
        if not patch:
            return PlannedAction(ref=ref, action=Action.NONE, explanation="already correct")
        list_id = _list_id(ref)
        explanation = (
            "update "
            + " and ".join(
                w
                for k, w in (("merge_fields", "FNAME/LNAME"), ("email_address", "the address"))
                if k in patch
            )
            + f" in audience {list_id}"
        )
        if "email_address" in patch and correction.email:
            taken = self._member(list_id, subscriber_hash(correction.email), ["id"])
            if taken is not None:
                explanation += " — REFUSED: the new address is a member of this audience already"
        return PlannedAction(ref=now, action=Action.UPDATE, explanation=explanation)

    def rectify(self, ref: RecordRef, target: ErasureTarget, correction: Correction) -> Outcome:
        now, member = self._current(ref, target, correction)
        moved = now if now.external_id != ref.external_id else None
        if member is None:
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="no such member")
        patch = _member_patch(member, correction)
        if not patch:
            return Outcome(status=OutcomeStatus.ALREADY_CORRECT, ref=ref, moved_to=moved)
        list_id = _list_id(ref)
        try:
            self._transport.call(
                "update member",
                lambda c: c.lists.update_list_member(list_id, now.external_id, patch),
            )
        except NotFound:
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="no such member")
        except Refused as exc:
            raise _refusal(exc, list_id) from None
        if "email_address" in patch and correction.email:
            moved = self._moved(ref, correction.email)
        log.info("mailchimp.rectified", audience=list_id, fields=sorted(patch))
        return Outcome(
            status=OutcomeStatus.RECTIFIED,
            ref=ref,
            detail=" and ".join(sorted(patch)),
            moved_to=moved,
        )

    def verify_rectification(
        self, target: ErasureTarget, correction: Correction, refs: Sequence[RecordRef]
    ) -> list[RecordRef]:
        """Each member re-read where it should be now; for a new address also a fresh look-up
        of the old one in every audience (a member still under it is not corrected)."""
        left: dict[tuple[str, str], RecordRef] = {}
        for ref in refs:
            _, member = self._current(ref, target, correction)
            if member is not None and (
                _member_patch(member, correction) or (correction.email and holds(member, target))
            ):
                left[(_list_id(ref), ref.external_id)] = ref
        if correction.email:
            for ref, list_id in self._locate(target, self._audiences()):
                left.setdefault((list_id, ref.external_id), ref)
        log.info("mailchimp.rectify_verified", remaining=len(left))
        return list(left.values())


RECTIFY_FIELDS = ["id", "email_address", "status", "merge_fields"]


def _member_patch(member: Mapping[str, Any], fix: Correction) -> dict[str, Any]:
    """The PATCH body that corrects the member; empty when it holds the corrections."""
    patch: dict[str, Any] = {}
    if fix.name:
        merge = member.get("merge_fields") or {}
        wanted = {"FNAME": fix.given_name, "LNAME": fix.surname}
        if any((merge.get(k) or "") != v for k, v in wanted.items()):
            patch["merge_fields"] = wanted
    if fix.email and not fix.is_new_address(member.get("email_address")):
        patch["email_address"] = fix.email
    return patch


def _refusal(exc: Refused, list_id: str) -> PermanentError:
    if exc.title == "Member Exists":
        return PermanentError(
            f"mailchimp refused the new address in audience {list_id}: it is a member already",
            next_step="In Mailchimp, merge the two members by hand (keep the one under the new "
            "address, correct its name, archive or delete the old one), then confirm with "
            "`syncaudit erasure retry ID SYSTEM` (the retry finds the old member gone).",
        )
    if exc.title == "Forgotten Email Not Subscribed":
        return PermanentError(
            f"mailchimp refused the new address in audience {list_id}: it was permanently "
            "deleted there and cannot be imported",
            next_step="Only the person can bring it back, by signing up again through a "
            "Mailchimp form; ask them to, delete the old member, then "
            "`syncaudit erasure retry ID SYSTEM`.",
        )
    return PermanentError(
        f"mailchimp refused the correction in audience {list_id}: {exc}",
        next_step="Correct the member in Mailchimp by hand, then "
        "`syncaudit erasure retry ID SYSTEM`.",
    )


def _list_id(ref: RecordRef) -> str:
    list_id = ref.locator.get("list_id") or list_id_of(ref.stream)
    if not list_id:
        raise PermanentError("mailchimp record reference without an audience id")
    return list_id
