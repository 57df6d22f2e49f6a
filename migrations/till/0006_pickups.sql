-- Pickup reservations at the till (docs/pickups.md). The reservations themselves live in the
-- shop document (the replica); these tables hold what only this till's ledger knows.

-- A sale that took the payment at a hand-over: its units left through the reservation
-- (`held`, or this till's `free` for another till's reservation), not through the sale path's
-- own stock change, so the ledger audit does not count its lines as sold from `free`.
CREATE TABLE pickup_sales (
    sale_id        TEXT PRIMARY KEY,
    reservation_id TEXT NOT NULL,
    collect_id     TEXT NOT NULL
) STRICT;

-- A deposit taken at this till when it made the reservation. The money is in the drawer; it
-- reaches the ledger (and the hub) as a tender of the sale made at the hand-over.
CREATE TABLE pickup_deposits (
    reservation_id TEXT PRIMARY KEY,
    kind           TEXT    NOT NULL,
    amount_minor   INTEGER NOT NULL CHECK (amount_minor > 0),
    reference      TEXT,
    hlc            TEXT    NOT NULL
) STRICT;
CREATE TRIGGER pickup_deposits_no_update BEFORE UPDATE ON pickup_deposits BEGIN SELECT RAISE(ABORT, 'deposits are immutable'); END;
CREATE TRIGGER pickup_deposits_no_delete BEFORE DELETE ON pickup_deposits BEGIN SELECT RAISE(ABORT, 'deposits are immutable'); END;

-- How far this till's wall clock ran ahead of the hub's at the last sync (for expiries).
CREATE TABLE pickup_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    ahead_of_hub_ms INTEGER NOT NULL DEFAULT 0,
    measured_ms     INTEGER
) STRICT;
INSERT INTO pickup_state (id) VALUES (1);
