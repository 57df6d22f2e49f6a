-- The sync loop (docs/sync.md): a till database shared by the app's connection and the
-- background sync loop's own connection, feed entries acted on, and the hub's conflicts.

-- Bumped whenever the replica snapshot is rewritten (compaction, pairing, a new epoch), so a
-- connection whose in-memory replica is older knows to reload it rather than read only the
-- change rows written after the ones it has (their seqs restart after a compaction).
ALTER TABLE replica_snapshot ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER replica_snapshot_generation AFTER UPDATE OF bytes ON replica_snapshot
BEGIN
    UPDATE replica_snapshot SET generation = OLD.generation + 1 WHERE id = NEW.id;
END;

-- What the till did about each feed entry, in the same transaction as doing it: a feed entry
-- with `applied_ms` set is never acted on again.
ALTER TABLE hub_feed ADD COLUMN applied_ms INTEGER;
ALTER TABLE hub_feed ADD COLUMN outcome TEXT;

-- The last seq of the shop's live stream this till has seen (`Last-Event-ID` on reconnect).
ALTER TABLE sync_state ADD COLUMN stream_after INTEGER NOT NULL DEFAULT 0;

-- Conflicts: those the hub recorded (fetched each pass, source 'hub') and those this till's
-- own audit finds (source 'till'), with their facts, the resolutions offered and, once
-- decided, the resolution.
CREATE TABLE conflicts (
    id           TEXT    PRIMARY KEY,
    source       TEXT    NOT NULL CHECK (source IN ('hub', 'till')),
    kind         TEXT    NOT NULL,
    variant_id   TEXT,
    holder       TEXT,
    facts        TEXT    NOT NULL,   -- JSON object
    resolutions  TEXT    NOT NULL,   -- JSON array of codes
    status       TEXT    NOT NULL CHECK (status IN ('open', 'resolved')),
    resolution   TEXT,
    note         TEXT,
    detected_at  TEXT    NOT NULL,   -- RFC 3339, as the hub says
    resolved_at  TEXT,
    seen_ms      INTEGER NOT NULL    -- when this till last fetched or found it
) STRICT;
