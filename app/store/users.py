"""The user table (with its tenant): lookups on request paths are plain SQL."""

from dataclasses import dataclass

import peewee

from app.db import write_transaction
from app.models import User

_COLUMNS = ('u.id, u.email, u.password_hash, u.name, u.given_name, u.family_name, u.email_verified,'
            ' u.updated_at, u.status, t.id, t.slug, t.name, t.status')


@dataclass(frozen=True)
class UserRecord:
    id: int
    email: str
    password_hash: str
    name: str
    given_name: str
    family_name: str
    email_verified: bool
    updated_at: int
    status: str
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    tenant_status: str

    @property
    def is_active(self):
        """The user may sign in and hold tokens: both the user and the tenant are active."""
        return self.status == "active" and self.tenant_status == "active"


def normalize_email(email):
    """Emails are stored and compared lower-cased, without surrounding spaces."""
    return email.strip().lower()


def _record(row):
    values = list(row)
    values[6] = bool(values[6])
    return UserRecord(*values)


def find_user(database, user_id):
    """The user with this id (an int, or a token's sub as a decimal string); None for anything else."""
    text = str(user_id)
    # isdigit() alone accepts "²" and other digits int() refuses; 18 digits always fit a BIGINT.
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    row = database.execute_sql(
        f'SELECT {_COLUMNS} FROM "user" u JOIN tenant t ON t.id = u.tenant_id WHERE u.id = {database.param}',
        (int(text),)).fetchone()
    return _record(row) if row else None


def users_with_email(database, email):
    """Every user with this (lower-cased) email, in every tenant, ordered by tenant name."""
    rows = database.execute_sql(
        f'SELECT {_COLUMNS} FROM "user" u JOIN tenant t ON t.id = u.tenant_id WHERE u.email = {database.param}'
        ' ORDER BY t.name, t.id', (email,)).fetchall()
    return [_record(row) for row in rows]


def update_password_hash(database, user_id, password_hash, now):
    database.execute_sql(
        f'UPDATE "user" SET password_hash = {database.param}, updated_at = {database.param}'
        f' WHERE id = {database.param}', (password_hash, int(now), user_id))


def find_active_user(database, user_id, tenant_id):
    """The user, only while both the user and the tenant are active and the user is still in that tenant."""
    user = find_user(database, user_id)
    if user is None or not user.is_active or str(user.tenant_id) != str(tenant_id):
        return None
    return user


def insert(database, *, tenant_id, email, password_hash, name, given_name, family_name, email_verified, now):
    """A new active user; returns its id, or None when the email is taken in that tenant."""
    try:
        with write_transaction(database):
            return User.create(tenant=tenant_id, email=email, password_hash=password_hash, name=name,
                               given_name=given_name, family_name=family_name, email_verified=email_verified,
                               status="active", created_at=int(now), updated_at=int(now)).id
    except peewee.IntegrityError:
        return None
