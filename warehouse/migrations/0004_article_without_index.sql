-- `article` is rebuilt without its PRIMARY KEY. DuckDB rewrites the last row group of an indexed
-- table at every checkpoint; a table without an index gets a new row group for rows inserted after
-- a checkpoint instead. With a few KB of text an article, a batch of 128 a pass wrote into an archive
-- of 100,000 articles took 1.2 s, nearly all of it rewriting that row group as the file closed
-- (about 70 ms now, as into 10,000).
-- Ids still come from article_id_seq, one per article: the writer draws them (Warehouse.reserve_ids).
CREATE TABLE article_rebuilt (
    id              BIGINT NOT NULL DEFAULT nextval('article_id_seq'),
    watch           VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    title           VARCHAR,
    author          VARCHAR,
    site            VARCHAR,
    language        VARCHAR,
    published_at    TIMESTAMPTZ,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    status          VARCHAR NOT NULL CHECK (status IN ('seed', 'new', 'duplicate', 'irrelevant', 'error')),
    duplicate_of    BIGINT,
    story_id        BIGINT,
    text            VARCHAR,
    text_source     VARCHAR,
    content_hash    VARCHAR,
    source_url      VARCHAR,
    relevance       DOUBLE,
    query_matched   BOOLEAN,
    matched_terms   VARCHAR[],
    seed_similarity DOUBLE,
    similarity      DOUBLE,
    similarity_kind VARCHAR,
    reason          VARCHAR,
    error           VARCHAR,
    run_id          BIGINT
);

INSERT INTO article_rebuilt
SELECT id, watch, url, title, author, site, language, published_at, first_seen_at, status, duplicate_of,
       story_id, text, text_source, content_hash, source_url, relevance, query_matched, matched_terms,
       seed_similarity, similarity, similarity_kind, reason, error, run_id
FROM article ORDER BY id;

DROP TABLE article;
ALTER TABLE article_rebuilt RENAME TO article;
