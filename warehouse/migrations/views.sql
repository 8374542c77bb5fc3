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

-- One row per story: a `new` article and every copy that joined it.
CREATE OR REPLACE VIEW stories AS
SELECT s.id AS story_id, s.watch, s.title, s.url, s.site, s.published_at, s.first_seen_at,
       count(c.id) AS copies,
       count(DISTINCT coalesce(c.site, regexp_extract(c.url, '^[a-z]+://([^/]+)', 1))) AS other_outlets,
       list(c.url ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL) AS copy_urls,
       greatest(max(c.first_seen_at), s.first_seen_at) AS last_seen_at
FROM article s
LEFT JOIN article c ON c.story_id = s.id AND c.id <> s.id AND c.status = 'duplicate'
WHERE s.status = 'new'
GROUP BY s.id, s.watch, s.title, s.url, s.site, s.published_at, s.first_seen_at
ORDER BY coalesce(s.published_at, s.first_seen_at) DESC, s.id DESC;
