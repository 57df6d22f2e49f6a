-- Folding before sending (docs/sync.md, "Folding before sending"): the heads of everything this
-- till has let leave it towards the hub, as concatenated 32-byte change hashes, recorded in the
-- same transaction as the fold and BEFORE the bytes are sent. The till's own changes outside
-- them exist only here, so it may fold them; a change inside them may be at the hub and is never
-- folded again. NULL (a till from before this, or not yet paired): nothing is folded until the
-- first send records it.
ALTER TABLE sync_state ADD COLUMN sent_heads BLOB;
