-- Forgets the index.
ALTER TABLE tickets ALTER COLUMN priority SET DEFAULT 2;
