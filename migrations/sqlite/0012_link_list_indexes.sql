-- The links page filtered by signer (and bucket) pages newest first: with these, such a page
-- reads its 200 rows in order instead of sorting every link of the user (240 ms with 1,000,000
-- links in bench/console.py).
CREATE INDEX share_links_by_user_created ON share_links (user_id, created_at, id);
CREATE INDEX share_links_by_bucket_created ON share_links (bucket, created_at, id);
