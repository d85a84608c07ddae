-- Migration 0011: webhooks can be parked (disabled by the daemon, with a reason)
-- A webhook the daemon cannot deliver to (a stored row it cannot read, a URL the HTTP client
-- refuses, an error in one of its deliveries) is parked: disabled, with the reason and time,
-- so one bad webhook stops only itself. Enabling it again clears the reason.
ALTER TABLE webhooks ADD COLUMN parked_reason TEXT;
ALTER TABLE webhooks ADD COLUMN parked_at INTEGER;
