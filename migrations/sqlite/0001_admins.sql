-- Console administrators and the record of failed sign-ins used for throttling.
-- Timestamps are Unix seconds (UTC) throughout the schema.

CREATE TABLE admins (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    -- argon2id PHC string
    password_hash       TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at          INTEGER NOT NULL,
    -- Sessions remember the value they were signed in under; a change signs them out.
    password_changed_at INTEGER NOT NULL
) STRICT;

CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    username TEXT    NOT NULL,
    ip       TEXT    NOT NULL,
    at       INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_by_username ON login_failures (username, at);
CREATE INDEX login_failures_by_ip ON login_failures (ip, at);
