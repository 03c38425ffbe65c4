"""User lookups for sign-in, tokens and userinfo (plain SQL: these run on request paths)."""

from dataclasses import dataclass

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


def _record(row):
    values = list(row)
    values[6] = bool(values[6])
    return UserRecord(*values)


def find_user(database, user_id):
    row = database.execute_sql(
        f'SELECT {_COLUMNS} FROM "user" u JOIN tenant t ON t.id = u.tenant_id WHERE u.id = {database.param}',
        (int(user_id),)).fetchone()
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
