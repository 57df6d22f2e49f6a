-- The till's replica of the shop document (crates/trestle-replica) joins the ledger. Stock
-- counters now live in the replica, the one truth every holder merges; the till's own
-- `stock_movements` stay as its ledger of why its counters moved (the audit compares the two).
-- A till from 0001 is bootstrapped at open: its counters are seeded from its movements.

DROP TABLE stock;

-- The shop document's identity (shared by the hub and every till of the shop).
ALTER TABLE shop ADD COLUMN shop_id TEXT;

-- The current epoch's document as of the last compaction, and how many actions it holds.
CREATE TABLE replica_snapshot (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    epoch   INTEGER NOT NULL,
    actions INTEGER NOT NULL,   -- business actions in this epoch up to the snapshot
    bytes   BLOB    NOT NULL
) STRICT;

-- The bytes of each business action's changes since the snapshot, written in the same
-- transaction as the action's ledger rows. Load = snapshot + these, in order.
CREATE TABLE replica_changes (
    seq   INTEGER PRIMARY KEY,
    epoch INTEGER NOT NULL,
    cause TEXT    NOT NULL,
    bytes BLOB    NOT NULL
) STRICT;

-- Earlier epochs, whole: the audit trail of every counter change before the current epoch.
CREATE TABLE replica_archive (
    epoch INTEGER PRIMARY KEY,
    heads TEXT    NOT NULL,   -- JSON array of the epoch's final change hashes (hex)
    bytes BLOB    NOT NULL
) STRICT;
