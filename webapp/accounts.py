"""Vendors and users: creation and password checks (werkzeug hashes)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import PlaybookError
from .models import User, UserDesk, Vendor

MIN_PASSWORD_CHARS = 8
# Compared against when the email is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(PlaybookError):
    """Bad input to an account operation (a user mistake)."""


def ensure_vendor(session: Session, name: str) -> Vendor:
    """Return the vendor called ``name``, creating it if needed (not committed)."""
    name = name.strip()
    if not name:
        raise AccountError("a vendor name is required")
    vendor = session.scalar(select(Vendor).where(Vendor.name == name))
    if vendor is None:
        vendor = Vendor(name=name)
        session.add(vendor)
        session.flush()
    return vendor


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    vendor: str,
    display_name: str = "",
    update_existing: bool = False,
    hash_method: str = "scrypt",
) -> User:
    """Create (or with ``update_existing`` reset the password of) a user in a vendor; not committed.

    Raises:
        AccountError: a malformed email, a short password, or an existing user.
    """
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise AccountError("a valid email is required")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_CHARS} characters")
    owner = ensure_vendor(session, vendor)
    user = session.scalar(select(User).where(User.email == email))
    if user is not None and not update_existing:
        raise AccountError(f"a user with email {email} already exists")
    if user is None:
        user = User(email=email, vendor_id=owner.id, display_name=display_name or email.split("@")[0])
        session.add(user)
    else:
        # A new password ends every existing session and remember-me cookie (webapp.auth).
        user.login_generation = (user.login_generation or 0) + 1
    user.vendor_id = owner.id
    user.password_hash = generate_password_hash(password, method=hash_method)
    session.flush()
    return user


DESK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def set_desks(session: Session, user: User, desks: Iterable[str]) -> list[str]:
    """Give ``user`` exactly these desk roles (not committed); returns them sorted.

    Raises:
        AccountError: a desk name that is not lower-case letters, digits, ``-`` or ``_``.
    """
    wanted = sorted({d.strip().lower() for d in desks if d.strip()})
    for desk in wanted:
        if not DESK_NAME.match(desk):
            raise AccountError(f"a desk name is lower-case letters, digits, - or _ (not {desk!r})")
    session.execute(delete(UserDesk).where(UserDesk.user_id == user.id))
    session.add_all(UserDesk(user_id=user.id, desk=desk) for desk in wanted)
    session.flush()
    return wanted


def desks_of(session: Session, user_id: int) -> set[str]:
    """The desks a user answers for."""
    return set(session.scalars(select(UserDesk.desk).where(UserDesk.user_id == user_id)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or ``None``."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user
