"""The tenant table."""

from dataclasses import dataclass

import peewee

from app.db import write_transaction
from app.models import Tenant


@dataclass(frozen=True)
class TenantRecord:
    id: int
    slug: str
    name: str
    status: str
    created_at: int


def _record(row):
    return TenantRecord(row.id, row.slug, row.name, row.status, row.created_at)


def insert(database, *, slug, name, now):
    """A new active tenant, or None when the slug is taken."""
    try:
        with write_transaction(database):
            return _record(Tenant.create(slug=slug, name=name, status="active", created_at=int(now)))
    except peewee.IntegrityError:
        return None


def find_by_slug(database, slug):
    row = Tenant.get_or_none(Tenant.slug == slug)
    return _record(row) if row else None
