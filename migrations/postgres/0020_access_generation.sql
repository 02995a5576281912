-- A counter that every change to who may do what moves, whoever makes it (an instance, the
-- admin CLI): access keys, users, grants, and share links' signatures and revocations. Each
-- instance's S3 endpoint keeps these in memory (domain::access) and reads this counter every
-- 200 ms, dropping what it holds when it moved. Counters that change on every request
-- (last_used_at, access counts, downloads) do not move it.
CREATE TABLE access_generation (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO access_generation (id, n) VALUES (1, 0);

CREATE FUNCTION access_generation_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_generation SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER access_keys_moves_access AFTER INSERT OR DELETE OR UPDATE OF user_id, secret_sealed, status, expires_at ON access_keys
    FOR EACH STATEMENT EXECUTE FUNCTION access_generation_moves();
CREATE TRIGGER iam_users_moves_access AFTER INSERT OR DELETE OR UPDATE ON iam_users
    FOR EACH STATEMENT EXECUTE FUNCTION access_generation_moves();
CREATE TRIGGER grants_moves_access AFTER INSERT OR DELETE OR UPDATE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION access_generation_moves();
CREATE TRIGGER share_links_moves_access AFTER INSERT OR DELETE OR UPDATE OF bucket, object_key, method, user_id, access_key_id, expires_at, revoked_at, signature_hash ON share_links
    FOR EACH STATEMENT EXECUTE FUNCTION access_generation_moves();
CREATE TRIGGER retired_link_signatures_moves_access AFTER INSERT OR DELETE OR UPDATE ON retired_link_signatures
    FOR EACH STATEMENT EXECUTE FUNCTION access_generation_moves();
