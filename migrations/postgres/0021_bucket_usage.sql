-- How many objects of the embedded store each bucket holds and their bytes, kept as objects
-- come and go (by these triggers, in the transaction that changes them), so that the buckets
-- list and a bucket's Settings read one row instead of counting a million.
CREATE TABLE bucket_usage (
    bucket  TEXT   PRIMARY KEY,
    objects BIGINT NOT NULL DEFAULT 0,
    bytes   BIGINT NOT NULL DEFAULT 0
);
INSERT INTO bucket_usage (bucket, objects, bytes)
    SELECT b.name, COUNT(o.key), COALESCE(SUM(o.size), 0)
    FROM buckets b LEFT JOIN objects o ON o.bucket = b.name GROUP BY b.name;

CREATE FUNCTION bucket_usage_follows_buckets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO bucket_usage (bucket) VALUES (NEW.name);
    ELSE
        DELETE FROM bucket_usage WHERE bucket = OLD.name;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER buckets_usage AFTER INSERT OR DELETE ON buckets
    FOR EACH ROW EXECUTE FUNCTION bucket_usage_follows_buckets();

CREATE FUNCTION bucket_usage_follows_objects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE bucket_usage SET objects = objects - 1, bytes = bytes - OLD.size
        WHERE bucket = OLD.bucket;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE bucket_usage SET objects = objects + 1, bytes = bytes + NEW.size
        WHERE bucket = NEW.bucket;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER objects_usage AFTER INSERT OR DELETE OR UPDATE OF bucket, size ON objects
    FOR EACH ROW EXECUTE FUNCTION bucket_usage_follows_objects();
