-- Requests through share links and other pre-signed URLs, counted per hour (Unix milliseconds /
-- 3,600,000) by the audit writer in the same transaction as their events: the dashboard reads
-- at most 168 rows here instead of a week of audit events. Counted even with the request audit
-- off. Hours past the audit retention are deleted with the events.
CREATE TABLE access_hours (
    hour    BIGINT PRIMARY KEY,
    allowed BIGINT NOT NULL DEFAULT 0,
    denied  BIGINT NOT NULL DEFAULT 0
);

INSERT INTO access_hours (hour, allowed, denied)
SELECT at / 3600000,
       SUM(CASE WHEN outcome = 'allowed' THEN 1 ELSE 0 END),
       SUM(CASE WHEN outcome = 'allowed' THEN 0 ELSE 1 END)
FROM audit_events
WHERE actor_kind IN ('link', 'presigned')
GROUP BY at / 3600000;
