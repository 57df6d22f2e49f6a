-- The outbox entries still waiting for the hub, by seq: what every sync pass reads first (the
-- oldest pending, in order) and what the status line counts. Without it both scan every entry
-- the till ever sent; with it they read only the pending ones. Partial, so an acknowledged
-- entry leaves the index and a till's history does not grow it.
CREATE INDEX outbox_pending ON outbox (seq) WHERE acked_ms IS NULL;
