-- What an object keeps besides its type and user metadata (objects::Stored, JSON): the
-- standard headers it was written with (Cache-Control, Expires, …), the checksum it was sent
-- with, a multipart object's part sizes. An upload keeps the headers until it completes.
ALTER TABLE objects ADD COLUMN stored TEXT COLLATE "C" NOT NULL DEFAULT '{}';
ALTER TABLE multipart_uploads ADD COLUMN stored TEXT COLLATE "C" NOT NULL DEFAULT '{}';

-- A part's checksum (base64), for uploads made with a checksum algorithm.
ALTER TABLE multipart_parts ADD COLUMN checksum TEXT COLLATE "C";

-- Uploads completed in the last day, so that a client retrying CompleteMultipartUpload (its
-- answer was lost) gets the same answer instead of NoSuchUpload.
CREATE TABLE multipart_completed (
    id           TEXT COLLATE "C" PRIMARY KEY,
    bucket       TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    etag         TEXT COLLATE "C" NOT NULL,
    completed_at BIGINT NOT NULL
);
