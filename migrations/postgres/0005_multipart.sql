-- Multipart uploads in progress in the embedded store. Each part is a complete, fsynced blob;
-- completing an upload concatenates them into the object's blob and drops these rows.

CREATE TABLE multipart_uploads (
    id           TEXT COLLATE "C"    PRIMARY KEY,
    bucket       TEXT COLLATE "C"    NOT NULL REFERENCES buckets (name),
    key          TEXT COLLATE "C"    NOT NULL,
    content_type TEXT COLLATE "C",
    metadata     TEXT COLLATE "C"    NOT NULL DEFAULT '{}',
    initiator    TEXT COLLATE "C"    NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE INDEX multipart_uploads_by_key ON multipart_uploads (bucket, key, id);

CREATE TABLE multipart_parts (
    upload_id   TEXT COLLATE "C"    NOT NULL REFERENCES multipart_uploads (id) ON DELETE CASCADE,
    part_number BIGINT NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    blob        TEXT COLLATE "C"    NOT NULL UNIQUE,
    size        BIGINT NOT NULL,
    etag        TEXT COLLATE "C"    NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
