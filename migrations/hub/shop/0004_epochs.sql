-- Epochs at the hub (docs/sync.md, "A new epoch"): when the hub starts a new epoch of the shop
-- document, the closed one is kept whole here — the audit trail, and where a till that was
-- offline across the change merges its late changes before they are carried into the new one.
CREATE TABLE replica_archive (
    epoch   INTEGER PRIMARY KEY,
    heads   TEXT    NOT NULL,   -- JSON array of the epoch's final change hashes when it closed
    bytes   BLOB    NOT NULL    -- the whole document (late changes merged in as they come)
) STRICT;
