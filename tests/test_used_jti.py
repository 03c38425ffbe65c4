"""Single-use JWT ids: accepted once across connections, kinds kept apart, pruned after they expire."""

from app.db import connect
from app.housekeeping import prune
from app.store import used_jti


def test_an_id_is_accepted_once_even_from_another_connection(services, database_url):
    other = connect(database_url)
    try:
        assert used_jti.use_once(services.database, "dpop", "abc", 2_000_000_000) is True
        assert used_jti.use_once(other, "dpop", "abc", 2_000_000_000) is False
        assert used_jti.use_once(other, "client_assertion", "abc", 2_000_000_000) is True
    finally:
        other.close()


def test_expired_ids_are_pruned_and_live_ones_kept(services, clock):
    now = int(clock.now())
    used_jti.use_once(services.database, "dpop", "old", now - 10)
    used_jti.use_once(services.database, "dpop", "live", now + 300)
    assert prune(services.database, now)["used_jti"] == 1
    assert used_jti.use_once(services.database, "dpop", "live", now + 300) is False
    assert used_jti.use_once(services.database, "dpop", "old", now + 300) is True
