"""The peewee models, the SQLite schema and the PostgreSQL schema describe the same tables."""

import re

from app.db import SQL_DIR
from app.models import ALL_MODELS


def _columns(body):
    columns = set()
    for line in body.splitlines():
        word = line.strip().split(" ", 1)[0]
        if word and word.isidentifier() and word.lower() == word and word not in ("unique", "check"):
            columns.add(word)
    return columns


_STATEMENTS = re.compile(
    r'CREATE TABLE "?(?P<create>\w+)"? \((?P<body>.*?)\n\);'
    r'|ALTER TABLE "?(?P<altered>\w+)"? (?P<action>ADD|DROP|RENAME) COLUMN (?P<column>\w+)(?: TO (?P<to>\w+))?'
    r'|ALTER TABLE "?(?P<renamed>\w+)"? RENAME TO "?(?P<new_name>\w+)"?'
    r'|DROP TABLE "?(?P<dropped>\w+)"?', re.S)


def _apply(tables, path):
    """table -> set of column names after the CREATE/ALTER/DROP TABLE statements of a migration file, in order."""
    for match in _STATEMENTS.finditer(path.read_text()):
        if match["create"]:
            tables[match["create"]] = _columns(match["body"])
        elif match["altered"]:
            columns = tables[match["altered"]]
            columns.discard(match["column"])
            if match["action"] != "DROP":
                columns.add(match["to"] or match["column"])
        elif match["renamed"]:
            tables[match["new_name"]] = tables.pop(match["renamed"])
        else:
            tables.pop(match["dropped"])
    return tables


def test_sqlite_and_postgres_migrations_define_the_same_tables_and_columns():
    sqlite_tables, postgres_tables = {}, {}
    for sqlite_file in sorted((SQL_DIR / "sqlite").glob("*.sql")):
        postgres_file = SQL_DIR / "postgres" / sqlite_file.name
        assert postgres_file.exists(), f"{sqlite_file.name} has no PostgreSQL twin"
        assert _apply(sqlite_tables, sqlite_file) == _apply(postgres_tables, postgres_file), sqlite_file.name


def test_models_match_the_migrations_text():
    tables = {}
    for path in sorted((SQL_DIR / "sqlite").glob("*.sql")):
        _apply(tables, path)
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
