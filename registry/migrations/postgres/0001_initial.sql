-- Schemas by global id. `content_key` is the SHA-256 of (type, stored text, references):
-- one id per distinct content, shared across subjects.
CREATE TABLE schemas (
    id BIGINT PRIMARY KEY,
    schema_type TEXT NOT NULL,
    schema_text TEXT NOT NULL,
    references_json TEXT NOT NULL,
    content_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Subject versions. Soft-deleted rows stay (deleted = 1) so that version numbers never repeat.
CREATE TABLE versions (
    subject TEXT NOT NULL,
    version BIGINT NOT NULL,
    schema_id BIGINT NOT NULL REFERENCES schemas (id),
    deleted BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject, version)
);
CREATE INDEX versions_by_schema ON versions (schema_id);

-- Which subject versions a schema references (for referencedby and delete refusal).
CREATE TABLE schema_references (
    schema_id BIGINT NOT NULL REFERENCES schemas (id),
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (schema_id, name)
);
CREATE INDEX references_by_target ON schema_references (subject, version);

-- Compatibility config and mode, per subject; the global scope is the empty string, which
-- is never a valid subject name.
CREATE TABLE settings (
    scope TEXT PRIMARY KEY,
    compatibility TEXT,
    normalize BIGINT,
    mode TEXT
);

-- Monotonic counters (the next schema id), so that ids are never reused after hard deletes.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('next_schema_id', 1);
