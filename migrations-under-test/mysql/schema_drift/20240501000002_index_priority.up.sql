CREATE INDEX IF NOT EXISTS tickets_priority_idx ON tickets (priority);
ALTER TABLE tickets ALTER COLUMN priority SET DEFAULT 3;
