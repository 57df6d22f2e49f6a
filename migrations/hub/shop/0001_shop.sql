-- One shop's partition: its authoritative replica, orders with their idempotency keys, the
-- shop's event log (live stream and webhooks), webhook deliveries, what tills sent, each
-- device's feed, and conflicts. Written only by the shop's one writer.

-- The shop document as of the last compaction, and the bytes of each change since.
CREATE TABLE replica_snapshot (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    bytes   BLOB    NOT NULL
) STRICT;
CREATE TABLE replica_changes (
    seq     INTEGER PRIMARY KEY,
    bytes   BLOB    NOT NULL
) STRICT;

CREATE TABLE orders (
    id              TEXT    PRIMARY KEY,
    number          INTEGER NOT NULL UNIQUE,
    idempotency_key TEXT    NOT NULL UNIQUE,
    request_hash    BLOB    NOT NULL,       -- SHA-256 of the request body: same key, other body = 422
    token_id        TEXT    NOT NULL,
    body            TEXT    NOT NULL,       -- the Order as answered (JSON)
    reservation_id  TEXT,
    created_at      INTEGER NOT NULL
) STRICT;

-- Reservation facts the document does not keep: the order, contact details, cancel requests.
CREATE TABLE reservation_meta (
    id               TEXT    PRIMARY KEY,
    order_id         TEXT,
    email            TEXT,
    phone            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE transfers (
    id          TEXT    PRIMARY KEY,
    body        TEXT    NOT NULL,           -- the TransferRecord (JSON)
    at          INTEGER NOT NULL
) STRICT;

-- Market event status the hub decides (the document carries it to the tills too).
CREATE TABLE shop_events (
    seq     INTEGER PRIMARY KEY,            -- gapless, from 1
    topic   TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    data    TEXT    NOT NULL
) STRICT;

CREATE TABLE webhooks (
    id          TEXT    PRIMARY KEY,
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL,           -- needed in clear to sign; never logged or returned
    topics      TEXT    NOT NULL,           -- space-separated, or '*'
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
) STRICT;

CREATE TABLE deliveries (
    id               TEXT    PRIMARY KEY,
    webhook_id       TEXT    NOT NULL REFERENCES webhooks(id),
    event_seq        INTEGER NOT NULL REFERENCES shop_events(seq),
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     INTEGER,
    UNIQUE (webhook_id, event_seq)
) STRICT;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

-- What tills sent through their outbox, once per event id.
CREATE TABLE till_events (
    event_id    TEXT    PRIMARY KEY,
    till_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;

-- What is new for each device: allocations, reservations handed to it, requests.
CREATE TABLE device_feed (
    seq       INTEGER PRIMARY KEY,
    device_id TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    body      TEXT    NOT NULL
) STRICT;
CREATE INDEX device_feed_by_device ON device_feed (device_id, seq);

-- When each device last synced (for the sync-lag metric).
CREATE TABLE device_sync (
    device_id     TEXT    PRIMARY KEY,
    last_sync_at  INTEGER NOT NULL,
    last_feed_seq INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE conflicts (
    id           TEXT    PRIMARY KEY,
    fingerprint  TEXT    NOT NULL,          -- the same open problem found twice is one conflict
    kind         TEXT    NOT NULL,
    variant_id   TEXT,
    holder       TEXT,
    facts        TEXT    NOT NULL,
    resolutions  TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('open', 'resolved')),
    resolution   TEXT,
    note         TEXT,
    detected_at  INTEGER NOT NULL,
    resolved_at  INTEGER
) STRICT;
CREATE INDEX conflicts_open ON conflicts (fingerprint) WHERE status = 'open';
