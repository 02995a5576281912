-- What the last `serve` on this database ran with, for the admin commands run beside it
-- (domain::settings::served_url): today the public S3 URL links are signed for.
CREATE TABLE served_with (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
