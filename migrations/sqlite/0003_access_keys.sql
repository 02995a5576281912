-- S3 access keys of IAM users. The secret is needed in clear to check SigV4 signatures, so it
-- is stored sealed (XChaCha20-Poly1305, key id as associated data) under the master key, which
-- never enters the database.

CREATE TABLE access_keys (
    id            TEXT    PRIMARY KEY CHECK (length(id) = 20 AND substr(id, 1, 2) = 'AK'),
    user_id       INTEGER NOT NULL REFERENCES iam_users (id) ON DELETE CASCADE,
    secret_sealed BLOB    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    expires_at    INTEGER
) STRICT;

CREATE INDEX access_keys_by_user ON access_keys (user_id);
