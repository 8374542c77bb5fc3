-- The digest ledger: one row per digest and destination, so a destination that received a digest
-- never gets it again and one that failed gets its backlog next time.
-- The destination is stored as a hash of its apprise URL plus apprise's privacy form for display:
-- never the URL itself, which may carry passwords or tokens.

CREATE TABLE digest_delivery (
    digest_id       VARCHAR NOT NULL,          -- hash of the watch and the article ids it covered
    watch           VARCHAR NOT NULL,
    destination_id  VARCHAR NOT NULL,          -- sha256 of the apprise URL
    destination     VARCHAR NOT NULL,          -- apprise's privacy form, secrets masked
    article_ids     BIGINT[] NOT NULL,         -- every update the digest covered
    status          VARCHAR NOT NULL CHECK (status IN ('sent', 'failed')),
    error           VARCHAR,                   -- why the last attempt failed
    attempts        INTEGER NOT NULL DEFAULT 1,
    period_start    TIMESTAMPTZ,               -- NULL: from the beginning
    period_end      TIMESTAMPTZ NOT NULL,
    first_attempt_at TIMESTAMPTZ NOT NULL,
    last_attempt_at TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    PRIMARY KEY (digest_id, destination_id)
);

CREATE INDEX digest_delivery_destination ON digest_delivery (watch, destination_id);
