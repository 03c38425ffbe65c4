"""Storage, one module per stored artifact: a small dataclass and the functions that find, insert and
consume it. All SQL of an artifact lives in its module; protocol modules call these functions."""
