"""Request building with msgraph-sdk's request builders (URL templates, encoding, headers).

Each function returns a `Build`: a function from the `GraphServiceClient` to a fresh
`RequestInformation`, so a retried request is built anew (with a fresh token). The SDK is
imported inside the functions: importing this module costs nothing.

Folder `"default"` is the mailbox's default Contacts folder (`/users/{u}/contacts...`); any other
folder id is addressed at top level (`/users/{u}/contactFolders/{id}/...`), nested or not, and so
is Deleted Items by its well-known name (`deleteditems`; not in the reference, see
`deleted_events`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Build = Callable[[Any], Any]  # GraphServiceClient -> RequestInformation

DEFAULT_FOLDER = "default"
DELETED_ITEMS = "deleteditems"  # Graph's well-known name of the Deleted Items folder
CONTACTS_PAGE = 200  # contact delta caps pages at 200 (Microsoft Q&A; not in the reference)
EVENTS_PAGE = 1000  # calendarView delta: no documented cap; ask for the most
LIST_PAGE = 1000  # $top on lists (folders, $filter look-ups, calendarView scans)


def _config(prefer_page: int | None = None, query: Any = None) -> Any:
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    config: Any = RequestConfiguration(query_parameters=query)
    if prefer_page:
        config.headers.add("Prefer", f"odata.maxpagesize={prefer_page}")
    return config


def _user(client: Any, mailbox: str) -> Any:
    return client.users.by_user_id(mailbox)


def _contacts(client: Any, mailbox: str, folder: str) -> Any:
    user = _user(client, mailbox)
    if folder == DEFAULT_FOLDER:
        return user.contacts
    return user.contact_folders.by_contact_folder_id(folder).contacts


def link(mailbox: str, url: str, prefer_page: int | None) -> Build:
    """An absolute @odata.nextLink / @odata.deltaLink, followed as given."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).contacts.delta.with_url(url)
        return builder.to_get_request_information(_config(prefer_page))

    return build


def folders(mailbox: str, top: int = LIST_PAGE) -> Build:
    def build(client: Any) -> Any:
        builder = _user(client, mailbox).contact_folders
        query = builder.ContactFoldersRequestBuilderGetQueryParameters(
            top=top, select=["id", "displayName", "parentFolderId"]
        )
        return builder.to_get_request_information(_config(query=query))

    return build


def child_folders(mailbox: str, folder: str, top: int = LIST_PAGE) -> Build:
    def build(client: Any) -> Any:
        builder = _user(client, mailbox).contact_folders.by_contact_folder_id(folder).child_folders
        query = builder.ChildFoldersRequestBuilderGetQueryParameters(
            top=top, select=["id", "displayName", "parentFolderId"]
        )
        return builder.to_get_request_information(_config(query=query))

    return build


def contacts_delta(mailbox: str, folder: str) -> Build:
    def build(client: Any) -> Any:
        builder = _contacts(client, mailbox, folder).delta
        return builder.to_get_request_information(_config(CONTACTS_PAGE))

    return build


def calendar_delta(mailbox: str, start: str, end: str) -> Build:
    def build(client: Any) -> Any:
        builder = _user(client, mailbox).calendar_view.delta
        query = builder.DeltaRequestBuilderGetQueryParameters(
            start_date_time=start, end_date_time=end
        )
        return builder.to_get_request_information(_config(EVENTS_PAGE, query))

    return build


def contacts_with_address(mailbox: str, folder: str, address: str, top: int = LIST_PAGE) -> Build:
    """Live look-up: `$filter=emailAddresses/any(a:a/address eq '...')`."""
    literal = address.replace("'", "''")

    def build(client: Any) -> Any:
        builder = _contacts(client, mailbox, folder)
        query = builder.ContactsRequestBuilderGetQueryParameters(
            filter=f"emailAddresses/any(a:a/address eq '{literal}')",
            select=["id", "displayName", "emailAddresses", "parentFolderId"],
            top=top,
        )
        return builder.to_get_request_information(_config(query=query))

    return build


EVENT_FIELDS = ["id", "type", "seriesMasterId", "subject", "organizer", "attendees", "location"]
EVENT_FIELDS += ["start", "isOrganizer"]


def calendar_view(mailbox: str, start: str, end: str) -> Build:
    """Single events and every occurrence and exception of the series in the window."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).calendar_view
        query = builder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=start, end_date_time=end, select=EVENT_FIELDS, top=LIST_PAGE
        )
        return builder.to_get_request_information(_config(LIST_PAGE, query))

    return build


def event_instances(mailbox: str, master_id: str, start: str, end: str) -> Build:
    """A series' occurrences and exceptions in [start, end), with what redaction reads."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).events.by_event_id(master_id).instances
        query = builder.InstancesRequestBuilderGetQueryParameters(
            start_date_time=start,
            end_date_time=end,
            select=[*EVENT_FIELDS, "body", "locations", "end"],
            top=LIST_PAGE,
        )
        return builder.to_get_request_information(_config(LIST_PAGE, query))

    return build


def deleted_events(mailbox: str) -> Build:
    """Events and series in Deleted Items, as `/calendars/deleteditems/events`.

    Not in the v1.0 reference (no documented route lists the events there); the well-known name
    addresses the folder the way `/contactFolders/deleteditems` is used for contacts. A tenant
    that refuses it answers 4xx, which the connector reports as "cannot search Deleted Items".
    """

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).calendars.by_calendar_id(DELETED_ITEMS).events
        query = builder.EventsRequestBuilderGetQueryParameters(
            select=[*EVENT_FIELDS, "body", "locations"], top=LIST_PAGE
        )
        return builder.to_get_request_information(_config(LIST_PAGE, query))

    return build


def contact(mailbox: str, folder: str, contact_id: str) -> Build:
    def build(client: Any) -> Any:
        return (
            _contacts(client, mailbox, folder)
            .by_contact_id(contact_id)
            .to_get_request_information()
        )

    return build


def contact_patch_addresses(
    mailbox: str, folder: str, contact_id: str, addresses: Sequence[Mapping[str, Any]]
) -> Build:
    def build(client: Any) -> Any:
        from msgraph.generated.models.contact import Contact
        from msgraph.generated.models.email_address import EmailAddress

        body = Contact(
            email_addresses=[
                EmailAddress(name=a.get("name"), address=a.get("address")) for a in addresses
            ]
        )
        item = _contacts(client, mailbox, folder).by_contact_id(contact_id)
        return item.to_patch_request_information(body)

    return build


def contact_patch_fields(
    mailbox: str, folder: str, contact_id: str, fields: Mapping[str, Any]
) -> Build:
    """PATCH a contact's name fields and/or emailAddresses (rectification)."""

    def build(client: Any) -> Any:
        from msgraph.generated.models.contact import Contact
        from msgraph.generated.models.email_address import EmailAddress

        body = Contact()
        if "displayName" in fields:
            body.display_name = fields["displayName"]
        if "givenName" in fields:
            body.given_name = fields["givenName"]
        if "surname" in fields:
            body.surname = fields["surname"]
        if "emailAddresses" in fields:
            body.email_addresses = [
                EmailAddress(name=a.get("name"), address=a.get("address"))
                for a in fields["emailAddresses"]
            ]
        item = _contacts(client, mailbox, folder).by_contact_id(contact_id)
        return item.to_patch_request_information(body)

    return build


def contact_purge(mailbox: str, folder: str, contact_id: str) -> Build:
    def build(client: Any) -> Any:
        item = _contacts(client, mailbox, folder).by_contact_id(contact_id)
        return item.permanent_delete.to_post_request_information()

    return build


def event(mailbox: str, event_id: str) -> Build:
    def build(client: Any) -> Any:
        return _user(client, mailbox).events.by_event_id(event_id).to_get_request_information()

    return build


def event_purge(mailbox: str, event_id: str) -> Build:
    def build(client: Any) -> Any:
        item = _user(client, mailbox).events.by_event_id(event_id)
        return item.permanent_delete.to_post_request_information()

    return build


def event_patch(mailbox: str, event_id: str, fields: Mapping[str, Any]) -> Build:
    """PATCH only the given fields: attendees, subject, body, location, locations."""

    def build(client: Any) -> Any:
        return (
            _user(client, mailbox)
            .events.by_event_id(event_id)
            .to_patch_request_information(_event_model(fields))
        )

    return build


def event_create(mailbox: str, fields: Mapping[str, Any]) -> Build:
    def build(client: Any) -> Any:
        return _user(client, mailbox).events.to_post_request_information(_event_model(fields))

    return build


def _event_model(fields: Mapping[str, Any]) -> Any:
    from msgraph.generated.models.attendee import Attendee
    from msgraph.generated.models.attendee_type import AttendeeType
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.free_busy_status import FreeBusyStatus
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.location import Location

    model = Event()
    if "attendees" in fields:
        model.attendees = [
            Attendee(
                email_address=EmailAddress(
                    name=(a.get("emailAddress") or {}).get("name"),
                    address=(a.get("emailAddress") or {}).get("address"),
                ),
                type=AttendeeType(a.get("type") or "required"),
            )
            for a in fields["attendees"]
        ]
    if "subject" in fields:
        model.subject = fields["subject"]
    if "body" in fields:
        kind = str(fields["body"].get("contentType") or "html").lower()
        model.body = ItemBody(
            content=fields["body"].get("content", ""),
            content_type=BodyType.Text if kind == "text" else BodyType.Html,
        )
    if "location" in fields:
        model.location = Location(display_name=fields["location"])
    if "locations" in fields:
        model.locations = [Location(display_name=name) for name in fields["locations"]]
    for key in ("start", "end"):
        if key in fields:
            value = fields[key]
            setattr(
                model,
                key,
                DateTimeTimeZone(date_time=value["dateTime"], time_zone=value.get("timeZone")),
            )
    if "showAs" in fields:
        model.show_as = FreeBusyStatus(fields["showAs"])
    if "transactionId" in fields:
        model.transaction_id = fields["transactionId"]
    if "isReminderOn" in fields:
        model.is_reminder_on = fields["isReminderOn"]
    if fields.get("recurrence"):
        model.recurrence = _recurrence_model(fields["recurrence"])
    return model


def _recurrence_model(raw: Mapping[str, Any]) -> Any:
    """Graph's patternedRecurrence JSON (as a master carries it) as the SDK's model."""
    from datetime import date

    from msgraph.generated.models.day_of_week import DayOfWeek
    from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
    from msgraph.generated.models.recurrence_pattern import RecurrencePattern
    from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
    from msgraph.generated.models.recurrence_range import RecurrenceRange
    from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
    from msgraph.generated.models.week_index import WeekIndex

    pattern, span = raw.get("pattern") or {}, raw.get("range") or {}

    def day(text: Any) -> date | None:
        return None if not text or str(text).startswith("0001") else date.fromisoformat(text)

    return PatternedRecurrence(
        pattern=RecurrencePattern(
            type=RecurrencePatternType(pattern.get("type") or "weekly"),
            interval=int(pattern.get("interval") or 1),
            days_of_week=[DayOfWeek(d) for d in pattern.get("daysOfWeek") or ()],
            first_day_of_week=DayOfWeek(pattern.get("firstDayOfWeek") or "sunday"),
            day_of_month=int(pattern.get("dayOfMonth") or 0),
            month=int(pattern.get("month") or 0),
            index=WeekIndex(pattern.get("index") or "first"),
        ),
        range=RecurrenceRange(
            type=RecurrenceRangeType(span.get("type") or "noEnd"),
            start_date=day(span.get("startDate")),
            end_date=day(span.get("endDate")),
            number_of_occurrences=int(span.get("numberOfOccurrences") or 0),
            recurrence_time_zone=span.get("recurrenceTimeZone"),
        ),
    )


# -- mail (retention of coaching summaries; needs Mail.ReadWrite) ----------------------------------

MESSAGE_FIELDS = ["id", "subject", "sentDateTime", "receivedDateTime", "createdDateTime"]
MESSAGE_FIELDS += ["from", "toRecipients", "ccRecipients"]


def mail_folders(mailbox: str) -> Build:
    """The mailbox's top-level mail folders (Inbox, Sent Items, the user's own...)."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).mail_folders
        query = builder.MailFoldersRequestBuilderGetQueryParameters(
            top=LIST_PAGE, select=["id", "displayName"]
        )
        return builder.to_get_request_information(_config(query=query))

    return build


def mail_child_folders(mailbox: str, folder: str) -> Build:
    def build(client: Any) -> Any:
        builder = _user(client, mailbox).mail_folders.by_mail_folder_id(folder).child_folders
        query = builder.ChildFoldersRequestBuilderGetQueryParameters(
            top=LIST_PAGE, select=["id", "displayName"]
        )
        return builder.to_get_request_information(_config(query=query))

    return build


def folder_messages(mailbox: str, folder: str) -> Build:
    """A folder's messages, ids, dates and addresses only (`folder`: an id or well-known name)."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).mail_folders.by_mail_folder_id(folder).messages
        query = builder.MessagesRequestBuilderGetQueryParameters(
            top=LIST_PAGE, select=MESSAGE_FIELDS
        )
        return builder.to_get_request_information(_config(query=query))

    return build


def message_purge(mailbox: str, message_id: str) -> Build:
    def build(client: Any) -> Any:
        item = _user(client, mailbox).messages.by_message_id(message_id)
        return item.permanent_delete.to_post_request_information()

    return build


def send_mail(mailbox: str, to: Sequence[str], subject: str, body: str) -> Build:
    """POST /users/{mailbox}/sendMail: a plain-text message, not kept in Sent Items."""

    def build(client: Any) -> Any:
        from msgraph.generated.models.body_type import BodyType
        from msgraph.generated.models.email_address import EmailAddress
        from msgraph.generated.models.item_body import ItemBody
        from msgraph.generated.models.message import Message
        from msgraph.generated.models.recipient import Recipient
        from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
            SendMailPostRequestBody,
        )

        message = Message(
            subject=subject,
            body=ItemBody(content=body, content_type=BodyType.Text),
            to_recipients=[Recipient(email_address=EmailAddress(address=a)) for a in to],
        )
        request = SendMailPostRequestBody(message=message, save_to_sent_items=False)
        return _user(client, mailbox).send_mail.to_post_request_information(request)

    return build


# -- the intake mailbox (capability MAILBOX: Mail.Read, Mail.Send) ---------------------------

INBOUND_FIELDS = ["id", "receivedDateTime", "from", "subject", "body", "conversationId"]
MAIL_DELTA_PAGE = 100


def messages_delta(mailbox: str, folder: str) -> Build:
    """The first request of a delta round on a mail folder (an id or a well-known name)."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).mail_folders.by_mail_folder_id(folder).messages.delta
        query = builder.DeltaRequestBuilderGetQueryParameters(select=INBOUND_FIELDS)
        config = _config(MAIL_DELTA_PAGE, query)
        config.headers.add("Prefer", 'outlook.body-content-type="text"')
        return builder.to_get_request_information(config)

    return build


def mail_link(mailbox: str, url: str) -> Build:
    """A next or delta link of a mail-folder round, with the same Prefer headers."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).mail_folders.by_mail_folder_id("inbox").messages.delta
        config = _config(MAIL_DELTA_PAGE)
        config.headers.add("Prefer", 'outlook.body-content-type="text"')
        return builder.with_url(url).to_get_request_information(config)

    return build


def sent_since(mailbox: str, since: str) -> Build:
    """Sent Items messages sent at or after `since` (ISO), subjects only."""

    def build(client: Any) -> Any:
        builder = _user(client, mailbox).mail_folders.by_mail_folder_id("sentitems").messages
        query = builder.MessagesRequestBuilderGetQueryParameters(
            top=LIST_PAGE,
            select=["id", "subject", "sentDateTime"],
            filter=f"sentDateTime ge {since}",
        )
        return builder.to_get_request_information(_config(query=query))

    return build


def send_letter(
    mailbox: str, to: str, subject: str, body: str, attachments: Sequence[tuple[str, str, bytes]]
) -> Build:
    """POST /users/{mailbox}/sendMail to one person, saved in Sent Items (the crash check
    looks there)."""

    def build(client: Any) -> Any:
        from msgraph.generated.models.body_type import BodyType
        from msgraph.generated.models.email_address import EmailAddress
        from msgraph.generated.models.file_attachment import FileAttachment
        from msgraph.generated.models.item_body import ItemBody
        from msgraph.generated.models.message import Message
        from msgraph.generated.models.recipient import Recipient
        from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
            SendMailPostRequestBody,
        )

        files: list[Any] = [
            FileAttachment(
                odata_type="#microsoft.graph.fileAttachment",
                name=name,
                content_type=content_type,
                content_bytes=data,
            )
            for name, content_type, data in attachments
        ]
        message = Message(
            subject=subject,
            body=ItemBody(content=body, content_type=BodyType.Text),
            to_recipients=[Recipient(email_address=EmailAddress(address=to))],
            attachments=files or None,
        )
        request = SendMailPostRequestBody(message=message, save_to_sent_items=True)
        return _user(client, mailbox).send_mail.to_post_request_information(request)

    return build
