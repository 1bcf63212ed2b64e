"""A small hierarchy of errors that carry their context.

The CLI turns any :class:`RecallError` into one line and a non-zero exit; the site maps them
to HTTP in one handler.
"""

from __future__ import annotations

from pathlib import Path


class RecallError(Exception):
    """Base of every error Recall reports to a user."""


class ConfigError(RecallError):
    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class NotFound(RecallError):
    pass


class RecordingNotFound(NotFound):
    def __init__(self, recording_id: str) -> None:
        super().__init__(f"no recording with id {recording_id!r}")
        self.recording_id = recording_id


class TranscriptNotPublished(NotFound):
    """Visitors asked for the words of a recording whose transcript awaits staff review."""

    def __init__(self, recording_id: str) -> None:
        super().__init__(
            f"the transcript of recording {recording_id!r} is not published yet: "
            "staff are reviewing it"
        )
        self.recording_id = recording_id


class TooManyRequests(RecallError):
    """A visitor sent more of something (suggestions) than the site takes from one address."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many {what} from your address; try again later")
        self.what = what
        self.retry_after = retry_after


class MediaError(RecallError):
    """A media file that cannot be read, converted or transcribed."""

    def __init__(self, path: Path, reason: str, stderr_tail: str = "") -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason
        self.stderr_tail = stderr_tail


class QueryError(RecallError):
    def __init__(self, query: str, reason: str) -> None:
        super().__init__(f"query {query!r}: {reason}")
        self.query = query
        self.reason = reason


class MetadataError(RecallError):
    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class BadParameter(RecallError):
    """A request or command argument that cannot be used (a time past the end, start > end)."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"{name}={value!r}: {reason}")
        self.name = name
        self.value = value
        self.reason = reason


class AccountError(RecallError):
    """An account that cannot be created or changed as asked (bad email, short password)."""

    def __init__(self, email: str, reason: str) -> None:
        super().__init__(f"{email}: {reason}")
        self.email = email
        self.reason = reason


class UserNotFound(NotFound):
    def __init__(self, email: str) -> None:
        super().__init__(f"no account {email!r}")
        self.email = email


class InsufficientStorage(RecallError):
    """The server's disk cannot hold what is sent (HTTP 507): full, or the upload would leave
    less free than the reserve."""

    def __init__(self, needed: int, free: int, reason: str) -> None:
        super().__init__(reason)
        self.needed = needed
        self.free = free
        self.reason = reason


class Conflict(RecallError):
    """The request cannot be done in the recording's present state (e.g. editing while busy)."""


class Busy(RecallError):
    """Work that cannot be done now: every slot for it is taken, or it ran out of time.

    ``retry_after`` is how many seconds a client might wait before asking again.
    """

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class CatalogUnreachable(RecallError):
    """The catalog's database cannot be opened: the server refuses or is not there, the
    password or database name is wrong, or a SQLite file's folder cannot be made. ``url`` is
    shown without its password."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot open the catalog at {url} ([library] database_url): {reason}")
        self.url = url
        self.reason = reason


class SchemaOutOfDate(RecallError):
    """The catalog was made by an earlier Recall: ``revision`` (None: from before migrations)
    is behind ``head``, the schema this Recall reads and writes."""

    def __init__(self, revision: str | None, head: str) -> None:
        super().__init__("the database is at an older schema; run: recall db upgrade")
        self.revision = revision
        self.head = head


class SchemaTooNew(RecallError):
    """The catalog was upgraded by a later Recall than this one."""

    def __init__(self, revision: str, head: str) -> None:
        super().__init__(
            f"the database is at schema {revision}, newer than this Recall's {head}; "
            "install the Recall that upgraded it"
        )
        self.revision = revision
        self.head = head
