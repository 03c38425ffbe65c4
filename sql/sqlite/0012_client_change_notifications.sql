-- PostgreSQL's twin adds triggers that announce every change of an application row to the per-process client
-- cache (app/client_cache.py). SQLite has no notifications and no cache: a client lookup there costs ~10 µs,
-- so every lookup reads the row. This statement does nothing; the file keeps the two migration lists equal.
SELECT 1;
