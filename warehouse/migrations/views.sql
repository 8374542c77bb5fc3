-- Public views: the stable contract users and scripts query. Recreated after migrations.
CREATE OR REPLACE VIEW articles AS
SELECT a.id, a.watch, a.url, a.title, a.author, a.site, a.language, a.published_at, a.first_seen_at,
       a.status, a.duplicate_of, a.story_id, a.text, a.text_source, a.source_url, a.relevance,
       a.query_matched, a.matched_terms, a.seed_similarity, a.similarity, a.similarity_kind,
       a.reason, a.error, a.run_id
FROM article a;

CREATE OR REPLACE VIEW updates AS
SELECT * FROM articles WHERE status = 'new'
ORDER BY coalesce(published_at, first_seen_at) DESC, id DESC;

CREATE OR REPLACE VIEW sources AS
SELECT watch, url, name, last_status, last_error, http_status, last_checked_at, last_success_at,
       consecutive_failures, entries_seen, retry_after
FROM source;

CREATE OR REPLACE VIEW runs AS
SELECT * FROM run ORDER BY id DESC;
