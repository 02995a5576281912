-- Per-bucket permissions of IAM users, and the index of the embedded object store.

CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES iam_users (id) ON DELETE CASCADE,
    bucket     TEXT    NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    permission TEXT    NOT NULL CHECK (permission IN ('read', 'write', 'read-write', 'owner')),
    -- '' grants the whole bucket; otherwise only keys starting with it.
    prefix     TEXT    NOT NULL DEFAULT '',
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, bucket, prefix)
) STRICT;

CREATE INDEX grants_by_bucket ON grants (bucket);

-- One row per visible object of the embedded store. The bytes live in a file named by `blob`
-- (never by the key, so no key can reach outside the store). A row appears only after its file
-- is complete and fsynced, so a crash never shows a partial object. TEXT compares bytewise,
-- which is S3's listing order.
CREATE TABLE objects (
    bucket        TEXT    NOT NULL REFERENCES buckets (name),
    key           TEXT    NOT NULL,
    blob          TEXT    NOT NULL UNIQUE,
    size          INTEGER NOT NULL,
    etag          TEXT    NOT NULL,
    content_type  TEXT,
    metadata      TEXT    NOT NULL DEFAULT '{}',
    last_modified INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
) STRICT, WITHOUT ROWID;
