-- Upload pages: share pages (kind 'page') with method 'PUT', at which recipients without an
-- account drop files into a bucket prefix. Each carries its limits (NULL: none) and counts
-- what it took; a file is counted when its upload starts (size declared, or known) and given
-- back if that upload is abandoned, so concurrent uploads never together pass a limit.
ALTER TABLE share_links ADD COLUMN upload_max_file BIGINT CHECK (upload_max_file > 0);
ALTER TABLE share_links ADD COLUMN upload_max_total BIGINT CHECK (upload_max_total > 0);
ALTER TABLE share_links ADD COLUMN upload_max_files BIGINT CHECK (upload_max_files > 0);
-- Allowed extensions (`.pdf`) and media types (`image/*`, `application/pdf`), comma-separated.
ALTER TABLE share_links ADD COLUMN upload_types TEXT;
ALTER TABLE share_links ADD COLUMN upload_ask_name BIGINT NOT NULL DEFAULT 0;
ALTER TABLE share_links ADD COLUMN uploaded_files BIGINT NOT NULL DEFAULT 0;
ALTER TABLE share_links ADD COLUMN uploaded_bytes BIGINT NOT NULL DEFAULT 0;

-- Each file sent to an upload page: its key is reserved here (unique, so two uploads never
-- take one name), `upload_id` is the store's multipart upload while it goes on, and
-- `completed_at` is set when the object exists. What arrived is what the link page lists.
CREATE TABLE page_uploads (
    id TEXT COLLATE "C" PRIMARY KEY,
    link_id TEXT COLLATE "C" NOT NULL REFERENCES share_links (id) ON DELETE CASCADE,
    bucket TEXT COLLATE "C" NOT NULL,
    object_key TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    content_type TEXT,
    uploader TEXT,
    client_ip TEXT,
    upload_id TEXT,
    started_at BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE UNIQUE INDEX page_uploads_by_key ON page_uploads (bucket, object_key);
CREATE INDEX page_uploads_by_link ON page_uploads (link_id, started_at);
CREATE INDEX page_uploads_by_completion ON page_uploads (completed_at);
