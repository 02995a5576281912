-- S3 access keys of IAM users. The secret is needed in clear to check SigV4 signatures, so it
-- is stored sealed (XChaCha20-Poly1305, key id as associated data) under the master key, which
-- never enters the database.

CREATE TABLE access_keys (
    id            TEXT COLLATE "C"    PRIMARY KEY CHECK (length(id) = 20 AND substr(id, 1, 2) = 'AK'),
    user_id       BIGINT NOT NULL REFERENCES iam_users (id) ON DELETE CASCADE,
    secret_sealed BYTEA    NOT NULL,
    status        TEXT COLLATE "C"    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    expires_at    BIGINT
);

CREATE INDEX access_keys_by_user ON access_keys (user_id);
