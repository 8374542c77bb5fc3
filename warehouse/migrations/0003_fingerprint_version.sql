-- Which fingerprint version (dedup.minhash.FINGERPRINT_VERSION) the LSH bands in article_band were
-- computed with. When the code's version differs, the writer recomputes the bands from the stored
-- texts on open (warehouse.schema.upgrade_bands), in batches: `target` is the version being
-- written and every article with id <= `done_upto` already has its `target` bands, so a killed
-- upgrade resumes where it stopped. One row.
CREATE TABLE fingerprint_state (
    version     INTEGER NOT NULL,              -- of the bands of articles beyond done_upto
    target      INTEGER,                       -- the version an unfinished upgrade is writing
    done_upto   BIGINT NOT NULL DEFAULT 0      -- article id up to which target's bands are written
);

-- Bands stored before this table existed were computed with version 1.
INSERT INTO fingerprint_state (version, target, done_upto) VALUES (1, NULL, 0);
