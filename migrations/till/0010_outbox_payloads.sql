-- The outbox's payloads in a table of their own (decision 196): marking a pass's entries
-- acknowledged then rewrites rows of ~100 bytes instead of the ~1.2 KB each was with its
-- payload inline (a market day's answer rewrote ~6.8 MB of pages into the WAL, now ~0.7 MB).
-- Every entry has exactly one payload row, written in the same transaction.
CREATE TABLE outbox_payloads (
    seq     INTEGER PRIMARY KEY REFERENCES outbox (seq),
    payload TEXT    NOT NULL
) STRICT;
INSERT INTO outbox_payloads (seq, payload) SELECT seq, payload FROM outbox;
ALTER TABLE outbox DROP COLUMN payload;
