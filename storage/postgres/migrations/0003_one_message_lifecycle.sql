-- Migration 0003: a sent message's lifecycle lives in its message row only
-- The same statements as SQLite's migration 0012 (both engines keep the same schema).
-- Until now the outbox row kept its own copy of a sent message's status (sent, delivered, read,
-- played) and the server's timestamp beside the message row's. The message row becomes the one
-- truth, written in the client's transaction with the ack or the receipt; the outbox row keeps
-- only the request: pending, sending, done (the server took it) or failed.
--
-- 1. What only the outbox knew moves to the message row, forward only (the same order as the
--    client's: pending < sent < delivered < read < played; anything else ranks below). A message
--    row still waiting for the server's time takes the one the outbox recorded.
UPDATE messages SET
    sent_at = CASE
        WHEN messages.status NOT IN ('sent', 'delivered', 'read', 'played')
             AND (SELECT o.server_timestamp FROM outbox AS o
                  WHERE o.session_id = messages.session_id AND o.id = messages.message_id)
                 IS NOT NULL
        THEN (SELECT o.server_timestamp FROM outbox AS o
              WHERE o.session_id = messages.session_id AND o.id = messages.message_id) * 1000
        ELSE messages.sent_at
    END,
    status = (SELECT o.status FROM outbox AS o
              WHERE o.session_id = messages.session_id AND o.id = messages.message_id),
    updated_at = coalesce(
        (SELECT o.updated_at FROM outbox AS o
         WHERE o.session_id = messages.session_id AND o.id = messages.message_id
           AND o.updated_at > messages.updated_at),
        messages.updated_at
    )
WHERE messages.from_me = 1
  AND EXISTS (
    SELECT 1 FROM outbox AS o
    WHERE o.session_id = messages.session_id AND o.id = messages.message_id
      AND CASE o.status WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4
                        WHEN 'played' THEN 5 ELSE 0 END
        > CASE messages.status WHEN 'pending' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3
                               WHEN 'read' THEN 4 WHEN 'played' THEN 5 ELSE 0 END
  );

-- 2. The outbox keeps the request's state only. A done request whose message row is gone (a
--    chat deleted since) shows as sent at its last update: that becomes the time it was sent.
UPDATE outbox SET updated_at = coalesce(sent_at, updated_at)
WHERE status IN ('sent', 'delivered', 'read', 'played');
UPDATE outbox SET status = 'done' WHERE status IN ('sent', 'delivered', 'read', 'played');
ALTER TABLE outbox DROP COLUMN sent_at;
ALTER TABLE outbox DROP COLUMN server_timestamp;
