-- Sync with a hub (docs/sync.md). A till set up by `trestle init` works alone; `trestle pair`
-- makes it a holder of the hub's shop document. The device token itself is NOT here: it is in
-- `hub.json` beside this file, readable only by the user, so a copy of the database is no key.

-- Set once by pairing (the row exists only while the till is paired).
CREATE TABLE sync_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    hub_url       TEXT    NOT NULL,
    shop_id       TEXT    NOT NULL,
    paired_ms     INTEGER NOT NULL,
    feed_after    INTEGER NOT NULL DEFAULT 0,   -- the last seq of the hub's feed this till stored
    last_sync_ms  INTEGER                       -- the end of the last complete pass
) STRICT;

-- What the hub's feed told this till (allocations, reservations handed to it, return and
-- cancellation requests, catalog and event changes), kept in the hub's order.
CREATE TABLE hub_feed (
    seq         INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    body        TEXT    NOT NULL,   -- JSON, as the hub sent it
    received_ms INTEGER NOT NULL
) STRICT;

-- Closed documents are now keyed by the shop document they belong to as well as their epoch:
-- a till that pairs archives its own standalone document, whose epoch numbers the hub's
-- document repeats.
CREATE TABLE replica_archive_v2 (
    seq     INTEGER PRIMARY KEY,
    shop_id TEXT    NOT NULL,
    epoch   INTEGER NOT NULL,
    heads   TEXT    NOT NULL,   -- JSON array of the document's final change hashes (hex)
    bytes   BLOB    NOT NULL,
    UNIQUE (shop_id, epoch)
) STRICT;
INSERT INTO replica_archive_v2 (shop_id, epoch, heads, bytes)
    SELECT COALESCE((SELECT shop_id FROM shop WHERE id = 1), ''), epoch, heads, bytes
    FROM replica_archive ORDER BY epoch;
DROP TABLE replica_archive;
ALTER TABLE replica_archive_v2 RENAME TO replica_archive;
