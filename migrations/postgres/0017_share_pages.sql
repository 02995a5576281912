-- Share pages: links served by bucketshare itself at /s/<token>, beside pre-signed URLs. A page
-- is a share_links row of kind 'page': it has no signature and no access key (it acts as its
-- user, whose grants are checked on every request; `access_key_id` is ''), and it is found by
-- the SHA-256 of its token. It may carry a download limit (`max_downloads`, with `downloads`
-- counted atomically), a password (`password_hash`, argon2id) and a note to the recipient.
ALTER TABLE share_links ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'presigned'
    CHECK (kind IN ('presigned', 'page'));
ALTER TABLE share_links ADD COLUMN token_hash TEXT COLLATE "C";
ALTER TABLE share_links ADD COLUMN max_downloads BIGINT CHECK (max_downloads > 0);
ALTER TABLE share_links ADD COLUMN downloads BIGINT NOT NULL DEFAULT 0;
ALTER TABLE share_links ADD COLUMN note TEXT;
ALTER TABLE share_links ADD COLUMN password_hash TEXT;
CREATE UNIQUE INDEX share_links_by_token_hash ON share_links (token_hash);
