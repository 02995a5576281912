-- What admins share: IAM users with their access keys, the buckets bucketshare knows, and the
-- share links issued on their objects.

CREATE TABLE iam_users (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    status             TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    can_create_buckets INTEGER NOT NULL DEFAULT 0 CHECK (can_create_buckets IN (0, 1)),
    created_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE buckets (
    name          TEXT    PRIMARY KEY,
    owner_user_id INTEGER REFERENCES iam_users (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE share_links (
    id            TEXT    PRIMARY KEY,
    bucket        TEXT    NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    object_key    TEXT    NOT NULL,
    method        TEXT    NOT NULL CHECK (method IN ('GET', 'PUT')),
    user_id       INTEGER REFERENCES iam_users (id) ON DELETE SET NULL,
    access_key_id TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    label         TEXT
) STRICT;

-- The dashboard and the links page ask for live links first.
CREATE INDEX share_links_live ON share_links (expires_at) WHERE revoked_at IS NULL;
