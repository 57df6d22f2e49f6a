-- The till's ledger: shop settings, catalog, this till's stock, sales, refunds, voids, outbox.
-- Completed sales, refunds and voids are immutable: triggers refuse UPDATE and DELETE on them.
-- Indexes are only those a read needs: every index is one more page written by every sale.

CREATE TABLE shop (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    name             TEXT    NOT NULL,
    currency         TEXT    NOT NULL,
    tax_mode         TEXT    NOT NULL CHECK (tax_mode IN ('inclusive', 'exclusive')),
    default_tax_ppm  INTEGER NOT NULL CHECK (default_tax_ppm BETWEEN 0 AND 1000000),
    till_id          TEXT    NOT NULL,
    till_name        TEXT    NOT NULL,
    till_prefix      TEXT    NOT NULL,
    next_receipt_seq INTEGER NOT NULL DEFAULT 1,
    hlc              TEXT    NOT NULL,
    created_ms       INTEGER NOT NULL
) STRICT;

CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    handle       TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    vendor       TEXT NOT NULL,
    product_type TEXT NOT NULL,
    tags         TEXT NOT NULL,   -- JSON array
    body_html    TEXT NOT NULL,
    status       TEXT NOT NULL
) STRICT;

CREATE TABLE variants (
    id              TEXT PRIMARY KEY,
    product_id      TEXT    NOT NULL REFERENCES products (id),
    position        INTEGER NOT NULL,
    sku             TEXT,
    barcode         TEXT,
    options         TEXT    NOT NULL,   -- JSON array of {name, value}
    title           TEXT    NOT NULL,   -- product title and variant title, for search and receipts
    price_minor     INTEGER NOT NULL,
    tax_ppm         INTEGER NOT NULL,
    track_inventory INTEGER NOT NULL CHECK (track_inventory IN (0, 1)),
    policy          TEXT    NOT NULL CHECK (policy IN ('deny', 'continue'))
) STRICT;
CREATE INDEX variants_sku ON variants (sku);
CREATE INDEX variants_barcode ON variants (barcode);
CREATE INDEX variants_product ON variants (product_id, position);

-- This till's stock level per variant; always equal to the sum of its movements (same transaction).
CREATE TABLE stock (
    variant_id TEXT PRIMARY KEY REFERENCES variants (id),
    on_hand    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE stock_movements (
    id         INTEGER PRIMARY KEY,
    variant_id TEXT    NOT NULL REFERENCES variants (id),
    delta      INTEGER NOT NULL,
    cause      TEXT    NOT NULL,   -- import | sale | refund | void
    ref        TEXT    NOT NULL,   -- the causing record's id (import run, sale, refund, void)
    hlc        TEXT    NOT NULL
) STRICT;

-- Keyed by this till's receipt sequence (the rowid: no extra index on the sale path). The receipt
-- text is the till's fixed prefix and that sequence; sales are found by the sequence, listed in
-- its order (the clock grows with it).
CREATE TABLE sales (
    receipt_seq    INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    receipt        TEXT    NOT NULL,
    hlc            TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    subtotal_minor INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL,
    tax_minor      INTEGER NOT NULL,
    total_minor    INTEGER NOT NULL,
    paid_minor     INTEGER NOT NULL,
    change_minor   INTEGER NOT NULL,
    line_count     INTEGER NOT NULL,
    tender_count   INTEGER NOT NULL,
    staff          TEXT,
    event          TEXT,
    record         TEXT    NOT NULL    -- the whole sale as JSON (the wire form)
) STRICT;

CREATE TABLE sale_lines (
    sale_id             TEXT    NOT NULL REFERENCES sales (id),
    line_no             INTEGER NOT NULL,
    variant_id          TEXT    NOT NULL,
    sku                 TEXT,
    title               TEXT    NOT NULL,
    qty                 INTEGER NOT NULL CHECK (qty > 0),
    unit_price_minor    INTEGER NOT NULL,
    gross_minor         INTEGER NOT NULL,
    line_discount_minor INTEGER NOT NULL,
    cart_discount_minor INTEGER NOT NULL,
    net_minor           INTEGER NOT NULL,
    tax_minor           INTEGER NOT NULL,
    total_minor         INTEGER NOT NULL,
    tax_ppm             INTEGER NOT NULL,
    PRIMARY KEY (sale_id, line_no)
) STRICT, WITHOUT ROWID;

CREATE TABLE sale_tenders (
    sale_id      TEXT    NOT NULL REFERENCES sales (id),
    idx          INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('cash', 'card', 'other')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    reference    TEXT,
    PRIMARY KEY (sale_id, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE refunds (
    id           TEXT PRIMARY KEY,
    sale_id      TEXT    NOT NULL REFERENCES sales (id),
    hlc          TEXT    NOT NULL,
    total_minor  INTEGER NOT NULL,
    tax_minor    INTEGER NOT NULL,
    line_count   INTEGER NOT NULL,
    tender_count INTEGER NOT NULL,
    reason       TEXT,
    record       TEXT    NOT NULL
) STRICT;
CREATE INDEX refunds_sale ON refunds (sale_id);

CREATE TABLE refund_lines (
    refund_id    TEXT    NOT NULL REFERENCES refunds (id),
    line_no      INTEGER NOT NULL,
    variant_id   TEXT    NOT NULL,
    qty          INTEGER NOT NULL CHECK (qty > 0),
    amount_minor INTEGER NOT NULL,
    tax_minor    INTEGER NOT NULL,
    PRIMARY KEY (refund_id, line_no)
) STRICT, WITHOUT ROWID;

CREATE TABLE refund_tenders (
    refund_id    TEXT    NOT NULL REFERENCES refunds (id),
    tender_index INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    reference    TEXT,
    amount_minor INTEGER NOT NULL,
    PRIMARY KEY (refund_id, tender_index)
) STRICT, WITHOUT ROWID;

CREATE TABLE voids (
    id      TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL UNIQUE REFERENCES sales (id),
    hlc     TEXT NOT NULL,
    reason  TEXT NOT NULL,
    record  TEXT NOT NULL
) STRICT;

-- Events waiting to reach the hub, in order; event_id (a fresh UUIDv7) is the idempotency key the
-- hub applies once. Rows are never deleted, so the rowid `seq` only grows.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY,
    event_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    ref        TEXT NOT NULL,
    payload    TEXT NOT NULL,
    hlc        TEXT NOT NULL,
    acked_ms   INTEGER
) STRICT;

CREATE TRIGGER sales_no_update BEFORE UPDATE ON sales BEGIN SELECT RAISE(ABORT, 'completed sales are immutable'); END;
CREATE TRIGGER sales_no_delete BEFORE DELETE ON sales BEGIN SELECT RAISE(ABORT, 'completed sales are immutable'); END;
CREATE TRIGGER sale_lines_no_update BEFORE UPDATE ON sale_lines BEGIN SELECT RAISE(ABORT, 'completed sales are immutable'); END;
CREATE TRIGGER sale_lines_no_delete BEFORE DELETE ON sale_lines BEGIN SELECT RAISE(ABORT, 'completed sales are immutable'); END;
CREATE TRIGGER sale_tenders_no_update BEFORE UPDATE ON sale_tenders BEGIN SELECT RAISE(ABORT, 'completed sales are immutable'); END;
CREATE TRIGGER sale_tenders_no_delete BEFORE DELETE ON sale_tenders BEGIN SELECT RAISE(ABORT, 'completed sales are immutable'); END;
CREATE TRIGGER refunds_no_update BEFORE UPDATE ON refunds BEGIN SELECT RAISE(ABORT, 'refunds are immutable'); END;
CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds BEGIN SELECT RAISE(ABORT, 'refunds are immutable'); END;
CREATE TRIGGER refund_lines_no_update BEFORE UPDATE ON refund_lines BEGIN SELECT RAISE(ABORT, 'refunds are immutable'); END;
CREATE TRIGGER refund_lines_no_delete BEFORE DELETE ON refund_lines BEGIN SELECT RAISE(ABORT, 'refunds are immutable'); END;
CREATE TRIGGER refund_tenders_no_update BEFORE UPDATE ON refund_tenders BEGIN SELECT RAISE(ABORT, 'refunds are immutable'); END;
CREATE TRIGGER refund_tenders_no_delete BEFORE DELETE ON refund_tenders BEGIN SELECT RAISE(ABORT, 'refunds are immutable'); END;
CREATE TRIGGER voids_no_update BEFORE UPDATE ON voids BEGIN SELECT RAISE(ABORT, 'voids are immutable'); END;
CREATE TRIGGER voids_no_delete BEFORE DELETE ON voids BEGIN SELECT RAISE(ABORT, 'voids are immutable'); END;
CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements BEGIN SELECT RAISE(ABORT, 'stock movements are immutable'); END;
CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements BEGIN SELECT RAISE(ABORT, 'stock movements are immutable'); END;
