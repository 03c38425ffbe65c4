"""Single-use JWT ids: accepted once across connections and processes, kinds kept apart, kept until they expire.

On SQLite the ids live in a file beside the database that every process maps
(app/store/used_jti_file.py); a bucket of it that is full sends ids to the used_jti table, which is
where every id lives on PostgreSQL.
"""

import multiprocessing
import os
import stat

import pytest

from app.db import connect, dialect
from app.housekeeping import prune
from app.store import used_jti, used_jti_file

NOW = 1_900_000_000


@pytest.fixture
def database(services):
    return services.database


@pytest.fixture
def table_only(database_url):
    """A connection that checks ids in the table alone, as on PostgreSQL (and for a full bucket on SQLite)."""
    other = connect(database_url)
    other.used_jti_file = None
    yield other
    other.close()


@pytest.fixture
def sqlite_only(database):
    if dialect(database) != "sqlite":
        pytest.skip("the file of used ids exists beside a SQLite database only")


def test_an_id_is_accepted_once_even_from_another_connection(database, database_url):
    other = connect(database_url)
    try:
        assert used_jti.use_once(database, "dpop", "abc", NOW + 60, NOW) is True
        assert used_jti.use_once(other, "dpop", "abc", NOW + 60, NOW) is False
        assert used_jti.use_once(other, "client_assertion", "abc", NOW + 60, NOW) is True
    finally:
        other.close()


def test_an_id_is_kept_until_it_expires_and_then_may_be_used_again(database):
    assert used_jti.use_once(database, "dpop", "kept", NOW + 60, NOW) is True
    prune(database, NOW + 59)
    assert used_jti.use_once(database, "dpop", "kept", NOW + 120, NOW + 60) is False
    prune(database, NOW + 61)  # the table lets an id go when it is pruned, the file's slot once it expires
    assert used_jti.use_once(database, "dpop", "kept", NOW + 122, NOW + 61) is True


def test_the_table_keeps_ids_until_db_prune_removes_expired_ones(table_only):
    used_jti.use_once(table_only, "dpop", "old", NOW - 10, NOW)
    used_jti.use_once(table_only, "dpop", "live", NOW + 300, NOW)
    assert prune(table_only, NOW)["used_jti"] == 1
    assert used_jti.use_once(table_only, "dpop", "live", NOW + 300, NOW) is False
    assert used_jti.use_once(table_only, "dpop", "old", NOW + 300, NOW) is True


def _use_in_a_new_process(database_url, jti, results):
    database = connect(database_url)
    results.put(used_jti.use_once(database, "dpop", jti, NOW + 60, NOW))
    database.close()


def test_another_process_sees_an_id_at_once_and_the_table_is_not_written(sqlite_only, database, database_url):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    assert used_jti.use_once(database, "dpop", "seen-by-all", NOW + 60, NOW) is True
    for jti in ("seen-by-all", "new-one", "new-one"):
        child = context.Process(target=_use_in_a_new_process, args=(database_url, jti, results))
        child.start()
        child.join(30)
        assert child.exitcode == 0
    assert [results.get(timeout=5) for _ in range(3)] == [False, True, False]
    assert database.execute_sql("SELECT COUNT(*) FROM used_jti").fetchone()[0] == 0


def test_the_file_lies_beside_the_database_readable_by_its_owner_only(sqlite_only, database):
    used_jti.use_once(database, "dpop", "x", NOW + 60, NOW)
    mode = os.stat(database.database + "-used-jti").st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert os.path.getsize(database.database + "-used-jti") == used_jti_file.FILE_SIZE


def _ids_in_one_bucket(count):
    wanted, found, n = None, [], 0
    while len(found) < count:
        jti = f"crowded-{n}"
        bucket, _key = used_jti_file.bucket_of("dpop", jti)
        if wanted is None:
            wanted = bucket
        if bucket == wanted:
            found.append(jti)
        n += 1
    return found


def test_a_full_bucket_sends_ids_to_the_table_and_checks_it_until_they_expire(sqlite_only, database, table_only):
    ids = _ids_in_one_bucket(used_jti_file.SLOTS + 1)
    holders, overflow = ids[:used_jti_file.SLOTS - 1], ids[used_jti_file.SLOTS - 1:]
    for jti in holders:
        assert used_jti.use_once(database, "dpop", jti, NOW + 10, NOW) is True
    assert database.execute_sql("SELECT COUNT(*) FROM used_jti").fetchone()[0] == 0
    # The bucket is full: the next id goes to the table, where a table-only checker finds it too.
    assert used_jti.use_once(database, "dpop", overflow[0], NOW + 100, NOW) is True
    assert used_jti.use_once(table_only, "dpop", overflow[0], NOW + 100, NOW) is False
    # Later the slots are free again, but the bucket still sends its ids through the table until the
    # last id it put there has expired: a replay is refused, a new id accepted.
    assert used_jti.use_once(database, "dpop", overflow[0], NOW + 100, NOW + 50) is False
    assert used_jti.use_once(database, "dpop", overflow[1], NOW + 100, NOW + 50) is True
    assert used_jti.use_once(table_only, "dpop", overflow[1], NOW + 100, NOW + 50) is False
    # Once that has passed, the bucket holds its ids itself again.
    assert used_jti.use_once(database, "dpop", "crowded-late", NOW + 200, NOW + 101) is True
    assert used_jti.use_once(database, "dpop", holders[0], NOW + 200, NOW + 101) is True
    assert used_jti.use_once(database, "dpop", holders[0], NOW + 200, NOW + 102) is False


def test_a_file_that_is_not_ours_leaves_the_table_in_charge(sqlite_only, database_url, tmp_path, caplog):
    path = tmp_path / "foreign-used-jti"
    path.write_bytes(b"something else")
    foreign = used_jti_file.UsedJtiFile(str(path))
    assert foreign.use_once("dpop", "x", NOW + 60, NOW) is None
    assert path.read_bytes() == b"something else"
    assert "used_jti table" in caplog.text
