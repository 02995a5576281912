-- How many objects of the embedded store each bucket holds and their bytes, kept as objects
-- come and go (by these triggers, in the transaction that changes them), so that the buckets
-- list and a bucket's Settings read one row instead of counting a million.
CREATE TABLE bucket_usage (
    bucket  TEXT    PRIMARY KEY,
    objects INTEGER NOT NULL DEFAULT 0,
    bytes   INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO bucket_usage (bucket, objects, bytes)
    SELECT b.name, COUNT(o.key), COALESCE(SUM(o.size), 0)
    FROM buckets b LEFT JOIN objects o ON o.bucket = b.name GROUP BY b.name;
CREATE TRIGGER buckets_usage_insert AFTER INSERT ON buckets
BEGIN INSERT INTO bucket_usage (bucket) VALUES (NEW.name); END;
CREATE TRIGGER buckets_usage_delete AFTER DELETE ON buckets
BEGIN DELETE FROM bucket_usage WHERE bucket = OLD.name; END;
CREATE TRIGGER objects_usage_insert AFTER INSERT ON objects
BEGIN
    UPDATE bucket_usage SET objects = objects + 1, bytes = bytes + NEW.size
    WHERE bucket = NEW.bucket;
END;
CREATE TRIGGER objects_usage_delete AFTER DELETE ON objects
BEGIN
    UPDATE bucket_usage SET objects = objects - 1, bytes = bytes - OLD.size
    WHERE bucket = OLD.bucket;
END;
CREATE TRIGGER objects_usage_update AFTER UPDATE OF bucket, size ON objects
BEGIN
    UPDATE bucket_usage SET objects = objects - 1, bytes = bytes - OLD.size
    WHERE bucket = OLD.bucket;
    UPDATE bucket_usage SET objects = objects + 1, bytes = bytes + NEW.size
    WHERE bucket = NEW.bucket;
END;
