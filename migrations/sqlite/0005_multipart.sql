-- Multipart uploads in progress in the embedded store. Each part is a complete, fsynced blob;
-- completing an upload concatenates them into the object's blob and drops these rows.

CREATE TABLE multipart_uploads (
    id           TEXT    PRIMARY KEY,
    bucket       TEXT    NOT NULL REFERENCES buckets (name),
    key          TEXT    NOT NULL,
    content_type TEXT,
    metadata     TEXT    NOT NULL DEFAULT '{}',
    initiator    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX multipart_uploads_by_key ON multipart_uploads (bucket, key, id);

CREATE TABLE multipart_parts (
    upload_id   TEXT    NOT NULL REFERENCES multipart_uploads (id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    blob        TEXT    NOT NULL UNIQUE,
    size        INTEGER NOT NULL,
    etag        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) STRICT, WITHOUT ROWID;
