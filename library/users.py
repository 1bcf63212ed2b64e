"""Staff accounts: passwords hashed with scrypt, one API token per account, and the key that
every browser session of the account names.

Only hashes are stored: the password's (scrypt via Werkzeug, a memory-hard KDF) and the
token's (SHA-256: a token is 256 random bits, so a fast hash is enough and lookups stay cheap).
The session key is random and is replaced on sign-out and on a new password, which ends every
session of the account at once, in every site process sharing the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy import DateTime, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from library.catalog import Base, Catalog
from library.clock import utc_now
from library.errors import AccountError, UserNotFound
from library.models import Role, User

MIN_PASSWORD_LENGTH = 10  # NIST SP 800-63B asks for at least 8; passphrases are encouraged
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checking a password against this costs as much as against a real hash, so a login with an
# unknown email takes as long as one with a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


class _UserRow(Base):
    __tablename__ = "users"
    # AUTOINCREMENT: without it SQLite gives a removed account's id to the next one made.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Named by every session cookie of the account (revision 0002 gave existing accounts one).
    session_key: Mapped[str] = mapped_column(String(64), default="")


def _new_session_key() -> str:
    return secrets.token_urlsafe(24)


def _to_user(row: _UserRow) -> User:
    return User(id=row.id, email=row.email, role=Role(row.role), created_at=row.created_at)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password(email: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(email, f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


class Users:
    """The accounts, in the catalog's database."""

    def __init__(self, catalog: Catalog) -> None:
        self._session = catalog.session_factory

    def add(self, email: str, password: str, role: Role) -> tuple[User, str]:
        """Create an account; returns it and its API token (shown once, never stored).

        Raises :class:`AccountError` for a bad email, a short password or a taken email.
        """
        email = normalise_email(email)
        if not _EMAIL.match(email):
            raise AccountError(email, "not an email address")
        _check_password(email, password)
        token = secrets.token_urlsafe(32)
        with self._session.begin() as session:
            if session.scalar(select(_UserRow).where(_UserRow.email == email)) is not None:
                raise AccountError(email, "an account with this email exists already")
            row = _UserRow(
                email=email,
                password_hash=generate_password_hash(password),
                role=role.value,
                token_hash=_token_hash(token),
                session_key=_new_session_key(),
                created_at=utc_now(),
            )
            session.add(row)
            session.flush()
            return _to_user(row), token

    def _row_by_email(self, session: Session, email: str) -> _UserRow:
        row = session.scalar(select(_UserRow).where(_UserRow.email == normalise_email(email)))
        if row is None:
            raise UserNotFound(normalise_email(email))
        return row

    def authenticate(self, email: str, password: str) -> User | None:
        """The account if the password is right; None otherwise (which one is not said)."""
        with self._session() as session:
            row = session.scalar(select(_UserRow).where(_UserRow.email == normalise_email(email)))
        if row is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return _to_user(row) if check_password_hash(row.password_hash, password) else None

    def get(self, user_id: int) -> User | None:
        with self._session() as session:
            row = session.get(_UserRow, user_id)
            return _to_user(row) if row else None

    def session_id(self, user_id: int) -> str:
        """What a browser session of the account holds: the id and the current session key.
        Raises :class:`UserNotFound`."""
        with self._session() as session:
            row = session.get(_UserRow, user_id)
            if row is None:
                raise UserNotFound(str(user_id))
            return f"{row.id}:{row.session_key}"

    def by_session(self, session_id: str) -> User | None:
        """The account a session belongs to; None once the account is removed, or its sessions
        were ended (the key no longer matches), or for an id of an earlier Recall."""
        user_id, _, key = session_id.partition(":")
        if not user_id.isdigit() or not key:
            return None
        with self._session() as session:
            row = session.get(_UserRow, int(user_id))
        if row is None or not hmac.compare_digest(row.session_key.encode(), key.encode()):
            return None
        return _to_user(row)

    def end_sessions(self, user_id: int) -> None:
        """Sign the account out everywhere: every session cookie it has stops working."""
        with self._session.begin() as session:
            row = session.get(_UserRow, user_id)
            if row is not None:
                row.session_key = _new_session_key()

    def by_token(self, token: str) -> User | None:
        if not token:
            return None
        wanted = _token_hash(token)
        with self._session() as session:
            row = session.scalar(select(_UserRow).where(_UserRow.token_hash == wanted))
        # The lookup is by hash, so timing reveals nothing of the token; compare anyway.
        if row is None or not hmac.compare_digest(row.token_hash or "", wanted):
            return None
        return _to_user(row)

    def all(self) -> list[User]:
        with self._session() as session:
            return [_to_user(r) for r in session.scalars(select(_UserRow).order_by(_UserRow.id))]

    def set_password(self, email: str, password: str) -> User:
        """Ends every session of the account (whoever knew the old password may hold one); its
        API token keeps working. Raises :class:`UserNotFound` or :class:`AccountError`."""
        _check_password(normalise_email(email), password)
        with self._session.begin() as session:
            row = self._row_by_email(session, email)
            row.password_hash = generate_password_hash(password)
            row.session_key = _new_session_key()
            return _to_user(row)

    def new_token(self, email: str) -> str:
        """Replace the account's API token; the old one stops working. Raises UserNotFound."""
        token = secrets.token_urlsafe(32)
        with self._session.begin() as session:
            self._row_by_email(session, email).token_hash = _token_hash(token)
        return token

    def set_role(self, email: str, role: Role) -> User:
        """Raises :class:`UserNotFound`."""
        with self._session.begin() as session:
            row = self._row_by_email(session, email)
            row.role = role.value
            return _to_user(row)

    def remove(self, email: str) -> None:
        """Raises :class:`UserNotFound`."""
        with self._session.begin() as session:
            row = self._row_by_email(session, email)
            session.execute(delete(_UserRow).where(_UserRow.id == row.id))
