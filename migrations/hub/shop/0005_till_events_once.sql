-- A till's outbox entry is stored once (decision 195): its record lives in the shop's event log
-- (the `sale.*` event's `data` in `shop_events`), and `till_events` keeps what makes an entry
-- idempotent — its event id — with the seq of that event. Before, every record was stored here
-- as well, a second copy of every sale the hub never reads back. Rows from before keep their
-- body (and no seq).
CREATE TABLE till_events_once (
    event_id    TEXT    PRIMARY KEY,
    till_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    event_seq   INTEGER,            -- the shop_events row holding the record (no FK: it is
                                    -- written just after, in the same job)
    body        TEXT,               -- only rows stored before this migration
    received_at INTEGER NOT NULL,
    CHECK ((event_seq IS NULL) <> (body IS NULL))
) STRICT, WITHOUT ROWID;
INSERT INTO till_events_once (event_id, till_id, kind, event_seq, body, received_at)
    SELECT event_id, till_id, kind, NULL, body, received_at FROM till_events;
DROP TABLE till_events;
ALTER TABLE till_events_once RENAME TO till_events;
