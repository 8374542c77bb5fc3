-- The first schema: articles with every URL they were seen under, their LSH bands,
-- the sources of each watch and the runs of the monitor.
-- Tables are singular; the public views (plural) are defined in views.sql and
-- recreated after every migration, so they always match the tables.

CREATE SEQUENCE article_id_seq START 1;
CREATE SEQUENCE run_id_seq START 1;

CREATE TABLE article (
    id              BIGINT PRIMARY KEY DEFAULT nextval('article_id_seq'),
    watch           VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,          -- canonical, after redirects and rel=canonical
    title           VARCHAR,
    author          VARCHAR,
    site            VARCHAR,                   -- outlet name (page metadata) or host
    language        VARCHAR,
    published_at    TIMESTAMPTZ,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    status          VARCHAR NOT NULL CHECK (status IN ('seed', 'new', 'duplicate', 'irrelevant', 'error')),
    duplicate_of    BIGINT,                    -- article.id of the original
    story_id        BIGINT,                    -- article.id of the story's first article
    text            VARCHAR,                   -- extracted full text (or the feed's text when the page failed)
    text_source     VARCHAR,                   -- page | feed | seed
    content_hash    VARCHAR,                   -- hash of the normalised text
    source_url      VARCHAR,                   -- the feed it came from (NULL for seeds)
    relevance       DOUBLE,
    query_matched   BOOLEAN,
    matched_terms   VARCHAR[],
    seed_similarity DOUBLE,
    similarity      DOUBLE,                    -- the similarity that made it a copy
    similarity_kind VARCHAR,                   -- exact | jaccard | containment | same_event
    reason          VARCHAR,                   -- the decision in one readable sentence
    error           VARCHAR,                   -- why fetching or extracting failed
    run_id          BIGINT
);

-- Every URL an article was seen under: canonical, feed link, redirect hops, tracking links, AMP.
CREATE TABLE article_url (
    watch       VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    article_id  BIGINT NOT NULL,
    kind        VARCHAR NOT NULL,              -- canonical | alias
    PRIMARY KEY (watch, url)
);

-- MinHash LSH: one row per article and band; candidates are an equi-join on (band, hash).
CREATE TABLE article_band (
    article_id  BIGINT NOT NULL,
    band        SMALLINT NOT NULL,
    hash        BIGINT NOT NULL
);

CREATE TABLE novel_sentence (
    article_id  BIGINT NOT NULL,
    position    INTEGER NOT NULL,
    sentence    VARCHAR NOT NULL
);

CREATE TABLE source (
    watch                VARCHAR NOT NULL,
    url                  VARCHAR NOT NULL,
    name                 VARCHAR,
    last_status          VARCHAR,              -- ok | not_modified | error
    last_error           VARCHAR,
    http_status          INTEGER,
    last_checked_at      TIMESTAMPTZ,
    last_success_at      TIMESTAMPTZ,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    entries_seen         BIGINT NOT NULL DEFAULT 0,
    etag                 VARCHAR,
    last_modified        VARCHAR,
    retry_after          TIMESTAMPTZ,          -- back-off: not polled before this time
    PRIMARY KEY (watch, url)
);

CREATE TABLE run (
    id                   BIGINT PRIMARY KEY DEFAULT nextval('run_id_seq'),
    watch                VARCHAR NOT NULL,
    started_at           TIMESTAMPTZ NOT NULL,
    finished_at          TIMESTAMPTZ,
    status               VARCHAR NOT NULL,     -- running | completed | failed
    sources_ok           INTEGER DEFAULT 0,
    sources_not_modified INTEGER DEFAULT 0,
    sources_failed       INTEGER DEFAULT 0,
    entries              INTEGER DEFAULT 0,
    new                  INTEGER DEFAULT 0,
    duplicates           INTEGER DEFAULT 0,
    irrelevant           INTEGER DEFAULT 0,
    errors               INTEGER DEFAULT 0,
    seconds              DOUBLE
);
