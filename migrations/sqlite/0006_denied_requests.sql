-- Every S3 request that was refused for want of authentication or permission.

CREATE TABLE denied_requests (
    id            INTEGER PRIMARY KEY,
    -- Unix milliseconds
    at            INTEGER NOT NULL,
    access_key_id TEXT,
    user_name     TEXT,
    method        TEXT    NOT NULL,
    bucket        TEXT,
    object_key    TEXT,
    operation     TEXT    NOT NULL,
    client_ip     TEXT,
    user_agent    TEXT,
    status        INTEGER NOT NULL,
    error_code    TEXT,
    request_id    TEXT
) STRICT;

CREATE INDEX denied_requests_at ON denied_requests (at);
