-- Which kind of object store a data dir's buckets live in. Recorded at first use and checked at
-- every start, so that starting on the wrong store (buckets whose objects are elsewhere) is
-- refused rather than silently showing empty buckets.
CREATE TABLE store_identity (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('embedded', 's3')),
    endpoint TEXT COLLATE "C",
    bucket_prefix TEXT COLLATE "C" NOT NULL DEFAULT '',
    recorded_at BIGINT NOT NULL
);

-- Data dirs from before this table, with buckets, used the embedded store.
INSERT INTO store_identity (id, kind, endpoint, bucket_prefix, recorded_at)
SELECT 1, 'embedded', NULL, '', CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)
WHERE EXISTS (SELECT 1 FROM buckets);
