-- Change notifications for the per-process client cache (app/client_cache.py). Every UPDATE or DELETE of an
-- application row, whoever makes it (this service, an operator in psql, a script), sends its old and new
-- client_id on the channel platform_oauth_client_changed; PostgreSQL delivers them to the listeners when the
-- change commits, and never for a change that rolls back. A TRUNCATE sends '*': forget every client. An
-- INSERT sends nothing: the cache never holds a client_id that does not exist. A payload must stay under
-- 8000 bytes, so a client_id of 4000 bytes or more is announced as '*' as well.
CREATE FUNCTION platform_oauth_client_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('platform_oauth_client_changed', '*');
        RETURN NULL;
    END IF;
    PERFORM pg_notify('platform_oauth_client_changed',
                      CASE WHEN octet_length(OLD.client_id) < 4000 THEN OLD.client_id ELSE '*' END);
    IF TG_OP = 'UPDATE' AND NEW.client_id IS DISTINCT FROM OLD.client_id THEN
        PERFORM pg_notify('platform_oauth_client_changed',
                          CASE WHEN octet_length(NEW.client_id) < 4000 THEN NEW.client_id ELSE '*' END);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER application_changed AFTER UPDATE OR DELETE ON application
    FOR EACH ROW EXECUTE FUNCTION platform_oauth_client_changed();
CREATE TRIGGER application_truncated AFTER TRUNCATE ON application
    FOR EACH STATEMENT EXECUTE FUNCTION platform_oauth_client_changed();
