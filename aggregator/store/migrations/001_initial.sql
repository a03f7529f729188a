-- The PostgreSQL store (store/postgres.py). Each row's ``doc`` is the codec's JSON of the
-- record (store/codec.py); the columns beside it are what lookups and the schedule need.
CREATE TABLE entries (
    key            text PRIMARY KEY,
    source_id      text NOT NULL,
    story          text NOT NULL,
    canonical_link text,
    duplicate_of   text,
    published      timestamptz NOT NULL,
    updated        timestamptz NOT NULL,
    language       text NOT NULL DEFAULT '',
    categories     text[] NOT NULL,
    fingerprints   text[] NOT NULL,
    title          text NOT NULL,
    doc            jsonb NOT NULL
);
CREATE INDEX entries_newest ON entries (published DESC, updated DESC, key);
CREATE INDEX entries_source ON entries (source_id);
CREATE INDEX entries_story ON entries (story);
CREATE INDEX entries_canonical ON entries (canonical_link) WHERE canonical_link IS NOT NULL;
CREATE INDEX entries_copies ON entries (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX entries_categories ON entries USING gin (categories);
CREATE INDEX entries_fingerprints ON entries USING gin (fingerprints);

CREATE TABLE sources (
    source_id     text PRIMARY KEY,
    next_check_at timestamptz,            -- NULL: never polled, due first
    gone          boolean NOT NULL DEFAULT false,
    claim_token   text,                   -- set by a claim; an outcome is stored only under it
    doc           jsonb NOT NULL
);
CREATE INDEX sources_due ON sources (next_check_at NULLS FIRST, source_id) WHERE NOT gone;

CREATE TABLE tombstones (
    key       text PRIMARY KEY,
    published timestamptz NOT NULL
);

CREATE TABLE events (
    id  bigserial PRIMARY KEY,
    at  timestamptz NOT NULL,
    doc jsonb NOT NULL
);

CREATE TABLE dirty (                    -- models.Dirty, one row per marker
    kind  text NOT NULL,                -- category | language | source
    value text NOT NULL,
    PRIMARY KEY (kind, value)
);

CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters VALUES ('revision', 0);
