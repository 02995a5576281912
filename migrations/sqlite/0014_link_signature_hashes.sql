-- Share links are looked up by a hash of their signature (SHA-256, hex): what is needed to
-- recognise a URL, not to rebuild it. The plain `signature` column is emptied at start by
-- `domain::links::hash_stored_signatures` (SQLite has no SHA-256) and no longer written.
ALTER TABLE share_links ADD COLUMN signature_hash TEXT;
CREATE UNIQUE INDEX share_links_by_signature_hash ON share_links (signature_hash);

-- The signatures of links whose bucket was deleted: a bucket created again under the same name
-- must not bring them back to life. Kept until the link would have expired anyway.
CREATE TABLE retired_link_signatures (
    signature_hash TEXT    PRIMARY KEY,
    link_id        TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL
);
