"""Small builders shared by the store modules, so no statement spells out thirteen placeholders by hand."""

import dataclasses


def column_list(record_class, alias=None):
    """The SELECT list for a record dataclass: its field names, in order (so Record(*row) is right)."""
    prefix = alias + "." if alias else ""
    return ", ".join(prefix + field.name for field in dataclasses.fields(record_class))


def insert_row(database, table, values):
    """INSERT one row from a {column: value} dict; returns the cursor."""
    placeholders = ", ".join([database.param] * len(values))
    return database.execute_sql(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({placeholders})",
                                tuple(values.values()))
