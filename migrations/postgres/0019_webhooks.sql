-- Webhooks: where bucketshare POSTs a signed JSON event when a link is used (an access, an
-- upload, a wrong password, its last allowed download). One per link at most, and one default
-- (scope '') for links without their own. The secret is sealed with the master key; it is
-- shown once, when the webhook is made. What deliveries did is kept on the webhook: how many
-- arrived, failures in a row, the last answer, and when to try again after failures.
CREATE TABLE webhooks (
    id TEXT COLLATE "C" PRIMARY KEY,
    -- The link's id, or '' for the default webhook.
    scope TEXT COLLATE "C" NOT NULL UNIQUE,
    link_id TEXT COLLATE "C" REFERENCES share_links (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    delivered BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error TEXT,
    last_attempt_at BIGINT,
    last_success_at BIGINT,
    -- Unix milliseconds before which nothing is sent (after failures: the backoff).
    retry_at BIGINT NOT NULL DEFAULT 0,
    CHECK ((scope = '') = (link_id IS NULL)),
    CHECK (scope = '' OR scope = link_id)
);

-- Each event to send, written in the transaction that records what caused it, so that a
-- receiver that is down loses nothing: it is sent until it is answered 2xx or gives up.
-- `done_at` is set then; `next_at` (Unix ms) is when it may be tried, and a sender claims it
-- by moving `next_at` past its own attempt, so several instances never send one twice at once.
CREATE TABLE webhook_deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    webhook_id TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- The order events were queued in (each webhook's go out in it).
    seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    delivered BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error TEXT,
    done_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE done_at IS NULL;
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);
CREATE UNIQUE INDEX webhook_deliveries_by_seq ON webhook_deliveries (seq);
CREATE INDEX webhook_deliveries_by_done ON webhook_deliveries (done_at);
