-- Migration 0004: a commit that appends events notifies the daemons listening on wamd_events
-- Each daemon wakes its own followers (event streams, webhook dispatch, campaign tracking) after
-- its own commits; rows another daemon commits are announced by this NOTIFY, which PostgreSQL
-- delivers only once the inserting transaction commits, once per transaction (identical
-- notifications of one transaction are folded). A statement trigger: every insert path (one
-- event, a unit's batch) notifies, and no statement of the repositories changes.

CREATE FUNCTION event_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wamd_events', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER event_log_notify
AFTER INSERT ON event_log
FOR EACH STATEMENT EXECUTE FUNCTION event_log_notify();
