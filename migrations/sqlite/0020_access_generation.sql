-- A counter that every change to who may do what moves, whoever makes it (an instance, the
-- admin CLI): access keys, users, grants, and share links' signatures and revocations. Each
-- instance's S3 endpoint keeps these in memory (domain::access) and reads this counter every
-- 200 ms, dropping what it holds when it moved. Counters that change on every request
-- (last_used_at, access counts, downloads) do not move it.
CREATE TABLE access_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;
INSERT INTO access_generation (id, n) VALUES (1, 0);
CREATE TRIGGER access_keys_moves_access_insert AFTER INSERT ON access_keys
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER access_keys_moves_access_delete AFTER DELETE ON access_keys
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER access_keys_moves_access_update AFTER UPDATE OF user_id, secret_sealed, status, expires_at ON access_keys
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER iam_users_moves_access_insert AFTER INSERT ON iam_users
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER iam_users_moves_access_delete AFTER DELETE ON iam_users
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER iam_users_moves_access_update AFTER UPDATE ON iam_users
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER grants_moves_access_insert AFTER INSERT ON grants
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER grants_moves_access_delete AFTER DELETE ON grants
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER grants_moves_access_update AFTER UPDATE ON grants
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER share_links_moves_access_insert AFTER INSERT ON share_links
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER share_links_moves_access_delete AFTER DELETE ON share_links
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER share_links_moves_access_update AFTER UPDATE OF bucket, object_key, method, user_id, access_key_id, expires_at, revoked_at, signature_hash ON share_links
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER retired_link_signatures_moves_access_insert AFTER INSERT ON retired_link_signatures
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER retired_link_signatures_moves_access_delete AFTER DELETE ON retired_link_signatures
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER retired_link_signatures_moves_access_update AFTER UPDATE ON retired_link_signatures
BEGIN UPDATE access_generation SET n = n + 1; END;
