-- The bulk sync exchange (docs/sync.md): the hub's heads at the end of the last complete
-- exchange, as concatenated 32-byte change hashes. The hub holds every change up to them, so the
-- next exchange sends only the changes after them. NULL until the first exchange (then the
-- whole document is offered once); a wrong value only costs a fallback to Automerge sessions.
ALTER TABLE sync_state ADD COLUMN hub_heads BLOB;
