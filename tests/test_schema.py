"""The peewee models, the SQLite schema and the PostgreSQL schema describe the same tables."""

import re

from app.db import SQL_DIR
from app.models import ALL_MODELS


def _tables_in_sql(path, tables=None):
    """table -> set of column names after the CREATE TABLE and ALTER TABLE statements of a migration file,
    applied to tables (the schema before it)."""
    tables = {name: set(columns) for name, columns in (tables or {}).items()}
    for name, body in re.findall(r'CREATE TABLE "?(\w+)"? \((.*?)\n\);', path.read_text(), re.S):
        columns = set()
        for line in body.splitlines():
            word = line.strip().split(" ", 1)[0]
            if word and word.isidentifier() and word.lower() == word and word not in ("unique", "check"):
                columns.add(word)
        tables[name] = columns
    for name, action, column, new_name in re.findall(
            r"ALTER TABLE \"?(\w+)\"? (ADD|DROP|RENAME) COLUMN (\w+)(?: TO (\w+))?", path.read_text()):
        tables[name].discard(column)
        if action != "DROP":
            tables[name].add(new_name or column)
    return tables


def _schema(kind):
    """table -> columns after every migration of one dialect, in order."""
    tables = {}
    for path in sorted((SQL_DIR / kind).glob("*.sql")):
        tables = _tables_in_sql(path, tables)
    return tables


def test_sqlite_and_postgres_migrations_define_the_same_tables_and_columns():
    sqlite_tables, postgres_tables = {}, {}
    for sqlite_file in sorted((SQL_DIR / "sqlite").glob("*.sql")):
        postgres_file = SQL_DIR / "postgres" / sqlite_file.name
        assert postgres_file.exists(), f"{sqlite_file.name} has no PostgreSQL twin"
        sqlite_tables = _tables_in_sql(sqlite_file, sqlite_tables)
        postgres_tables = _tables_in_sql(postgres_file, postgres_tables)
        assert sqlite_tables == postgres_tables, sqlite_file.name


def test_models_match_the_migrations_text():
    tables = _schema("sqlite")
    for model in ALL_MODELS:
        assert {f.column_name for f in model._meta.sorted_fields} == tables[model._meta.table_name], model


def test_models_match_the_live_schema_columns_and_nullability(admin_database):
    """Runs against whichever database the suite uses (SQLite, or Postgres in CI's second pass)."""
    for model in ALL_MODELS:
        live = {c.name: c.null for c in admin_database.get_columns(model._meta.table_name)}
        declared = {f.column_name: f.null for f in model._meta.sorted_fields}
        # The primary key is NOT NULL in the database and implicit in peewee.
        declared["id"] = live.get("id", False)
        assert live == declared, model._meta.table_name


def test_models_unique_indexes_exist_in_the_live_schema(admin_database):
    for model in ALL_MODELS:
        live = {tuple(index.columns) for index in admin_database.get_indexes(model._meta.table_name)
                if index.unique}
        for field in model._meta.sorted_fields:
            if field.unique:
                assert (field.column_name,) in live, (model._meta.table_name, field.column_name)
        for columns, unique in model._meta.indexes:
            if unique:
                names = tuple(model._meta.fields[c].column_name for c in columns)
                assert names in live, (model._meta.table_name, names)
