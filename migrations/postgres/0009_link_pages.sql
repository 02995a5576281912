-- The links pages list newest first, a page at a time (keyset on created_at, id).
CREATE INDEX share_links_by_created ON share_links (created_at, id);
