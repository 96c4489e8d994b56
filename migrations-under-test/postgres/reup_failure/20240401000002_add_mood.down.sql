-- Forgets DROP TYPE mood: the next deploy of the up fails.
ALTER TABLE people DROP COLUMN mood;
