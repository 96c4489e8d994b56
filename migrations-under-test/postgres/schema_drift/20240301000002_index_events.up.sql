CREATE INDEX IF NOT EXISTS events_kind_idx ON events (kind);
ALTER TABLE events ALTER COLUMN kind SET DEFAULT 'misc';
