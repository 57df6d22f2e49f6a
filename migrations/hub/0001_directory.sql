-- The hub's directory: shops, their tokens (stored only as SHA-256 hashes), pairing codes and
-- paired devices. Each shop's own data (replica, orders, webhooks, …) lives in its partition's
-- file (migrations/hub/shop/), so one shop's writes never wait on another's.

CREATE TABLE shops (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    tax_mode    TEXT    NOT NULL CHECK (tax_mode IN ('inclusive', 'exclusive')),
    tax_ppm     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id          TEXT    PRIMARY KEY,
    hash        BLOB    NOT NULL UNIQUE,   -- SHA-256 of the secret; the secret is never stored
    shop_id     TEXT    NOT NULL REFERENCES shops(id),
    kind        TEXT    NOT NULL CHECK (kind IN ('admin', 'device', 'staff', 'integration')),
    scopes      TEXT    NOT NULL,          -- space-separated
    label       TEXT,
    event_id    TEXT,                      -- staff sessions: the one event they may act on
    device_id   TEXT,                      -- device tokens: the till
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX tokens_by_shop ON tokens (shop_id);

CREATE TABLE pairing_codes (
    code_hash   BLOB    PRIMARY KEY,       -- SHA-256 of the normalised code
    shop_id     TEXT    NOT NULL REFERENCES shops(id),
    till_name   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT;

CREATE TABLE devices (
    id          TEXT    PRIMARY KEY,       -- the till id (its Automerge actor)
    shop_id     TEXT    NOT NULL REFERENCES shops(id),
    name        TEXT    NOT NULL,
    paired_at   INTEGER NOT NULL
) STRICT;
