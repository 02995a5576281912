-- What the last `serve` on this database ran with, for the admin commands run beside it
-- (domain::settings::served_url): today the public S3 URL links are signed for.
CREATE TABLE served_with (
    name       TEXT COLLATE "C" PRIMARY KEY,
    value      TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL
);
