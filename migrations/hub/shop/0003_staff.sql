-- Staff of the shop (issue 8): who may sign in on the tills. Only the argon2id hash of the PIN is
-- kept (a PHC string); the roster with the hashes travels to the shop's tills.
CREATE TABLE staff (
    id         TEXT PRIMARY KEY,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash   TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX staff_name ON staff (lower(name));
