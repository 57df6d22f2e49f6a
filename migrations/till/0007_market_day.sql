-- The market day (issue 8): staff pulled from the hub, PIN lockouts, who is signed in, manager
-- approvals, the till's events (opened with a float, closed with a stocktake and a cash count),
-- cash in and out, the stock the till held at opening and closing, and count corrections.

-- The roster as last pulled from the hub: PIN hashes only (argon2id PHC strings).
CREATE TABLE staff (
    id         TEXT PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('cashier', 'manager')),
    active     INTEGER NOT NULL,
    pin_hash   TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL
) STRICT;

-- Wrong PINs in a row per person, and until when they are locked out (survives restarts).
CREATE TABLE staff_lockouts (
    staff_id        TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    locked_until_ms INTEGER
) STRICT;

-- Who is signed in on this till (one row; staff_id NULL when nobody is).
CREATE TABLE till_session (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    staff_id     TEXT,
    signed_in_ms INTEGER
) STRICT;
INSERT INTO till_session (id) VALUES (1);

-- Settings of the day's rules (one row).
CREATE TABLE market_settings (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    refund_approval_minor INTEGER NOT NULL
) STRICT;
INSERT INTO market_settings (id, refund_approval_minor) VALUES (1, 5000);

-- A manager's approval of an action a cashier may not do alone.
CREATE TABLE approvals (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL CHECK (kind IN ('refund', 'void', 'price_override', 'beyond_holding', 'count_correction')),
    ref     TEXT NOT NULL,
    staff   TEXT,
    manager TEXT NOT NULL,
    detail  TEXT NOT NULL,
    hlc     TEXT NOT NULL
) STRICT;

-- The events this till opened; at most one open at a time.
CREATE TABLE till_events (
    event_id            TEXT PRIMARY KEY,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    opened_hlc          TEXT    NOT NULL,
    opened_by           TEXT,
    float_minor         INTEGER NOT NULL,
    closed_hlc          TEXT,
    closed_by           TEXT,
    expected_cash_minor INTEGER,
    counted_cash_minor  INTEGER,
    return_transfer     TEXT,
    z_report            TEXT
) STRICT;
CREATE UNIQUE INDEX till_events_one_open ON till_events (status) WHERE status = 'open';

CREATE TABLE cash_movements (
    id           TEXT PRIMARY KEY,
    event_id     TEXT    NOT NULL REFERENCES till_events (event_id),
    kind         TEXT    NOT NULL CHECK (kind IN ('float', 'in', 'out')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    reason       TEXT    NOT NULL,
    staff        TEXT,
    hlc          TEXT    NOT NULL
) STRICT;

-- What the till held of each tracked variant when the event opened and when it closed (before
-- the return to the hub).
CREATE TABLE event_stock (
    event_id   TEXT    NOT NULL REFERENCES till_events (event_id),
    phase      TEXT    NOT NULL CHECK (phase IN ('open', 'close')),
    variant_id TEXT    NOT NULL,
    free       INTEGER NOT NULL,
    held       INTEGER NOT NULL,
    PRIMARY KEY (event_id, phase, variant_id)
) STRICT, WITHOUT ROWID;

-- The stocktake: per variant counted, what the till expected, what was counted, the correction.
CREATE TABLE stock_counts (
    id          TEXT PRIMARY KEY,
    event_id    TEXT    NOT NULL REFERENCES till_events (event_id),
    variant_id  TEXT    NOT NULL,
    expected    INTEGER NOT NULL,
    counted     INTEGER NOT NULL,
    delta       INTEGER NOT NULL,
    reason      TEXT,
    staff       TEXT,
    approved_by TEXT,
    hlc         TEXT    NOT NULL
) STRICT;

-- Who did it, and in which event, for refunds and voids (sales had both columns already).
ALTER TABLE refunds ADD COLUMN staff TEXT;
ALTER TABLE refunds ADD COLUMN event TEXT;
ALTER TABLE voids ADD COLUMN staff TEXT;
ALTER TABLE voids ADD COLUMN event TEXT;
CREATE INDEX sales_event ON sales (event);
