-- The audit trail: one append-only table for S3 requests made through share links or other
-- pre-signed URLs, refused S3 requests, and admin actions. Times are Unix milliseconds.
-- Rows are never changed; retention deletes the oldest.

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    -- admin: a console admin or the CLI; user: an IAM user's signed request; link: a request
    -- through a registered share link; presigned: another pre-signed URL; anonymous: unsigned.
    actor_kind    TEXT    NOT NULL
                  CHECK (actor_kind IN ('admin', 'user', 'link', 'presigned', 'anonymous')),
    -- Admin name, or the IAM user a request was signed as.
    actor         TEXT,
    access_key_id TEXT,
    link_id       TEXT,
    -- An S3 operation (GetObject) or an admin action (link.revoke).
    action        TEXT    NOT NULL,
    -- What an admin action was done to (a user, a key id, a link id…).
    target        TEXT,
    bucket        TEXT,
    object_key    TEXT,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed')),
    status        INTEGER,
    error_code    TEXT,
    bytes_sent    INTEGER NOT NULL DEFAULT 0,
    client_ip     TEXT,
    user_agent    TEXT,
    request_id    TEXT,
    -- JSON: before/after of admin actions, and other particulars.
    detail        TEXT
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_by_link ON audit_events (link_id, id) WHERE link_id IS NOT NULL;
CREATE INDEX audit_events_by_actor ON audit_events (actor, id) WHERE actor IS NOT NULL;
CREATE INDEX audit_events_by_key ON audit_events (access_key_id, id)
    WHERE access_key_id IS NOT NULL;
CREATE INDEX audit_events_by_object ON audit_events (bucket, object_key, id)
    WHERE bucket IS NOT NULL;
CREATE INDEX audit_events_by_outcome ON audit_events (outcome, id);

CREATE TRIGGER audit_events_are_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- The refused requests recorded so far become audit events.
INSERT INTO audit_events (at, actor_kind, actor, access_key_id, action, bucket, object_key,
        outcome, status, error_code, client_ip, user_agent, request_id)
    SELECT at, CASE WHEN access_key_id IS NULL THEN 'anonymous' ELSE 'user' END, user_name,
           access_key_id, operation, bucket, object_key, 'denied', status, error_code,
           client_ip, user_agent, request_id
    FROM denied_requests ORDER BY id;
DROP TABLE denied_requests;

ALTER TABLE share_links ADD COLUMN bytes_served INTEGER NOT NULL DEFAULT 0;
CREATE INDEX share_links_by_key ON share_links (access_key_id);
CREATE INDEX share_links_by_object ON share_links (bucket, object_key);
