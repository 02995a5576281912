-- Share links are recognised on use by their signature (unique per pre-signed URL), and count
-- their accesses.

ALTER TABLE share_links ADD COLUMN signature TEXT;
ALTER TABLE share_links ADD COLUMN revoked_by TEXT;
ALTER TABLE share_links ADD COLUMN access_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE share_links ADD COLUMN last_access_at INTEGER;

CREATE UNIQUE INDEX share_links_by_signature ON share_links (signature);
CREATE INDEX share_links_by_user ON share_links (user_id);
