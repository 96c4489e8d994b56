-- Forgets the index: every rollback leaves it behind, and production keeps an index
-- that the schema in version control no longer has.
ALTER TABLE events ALTER COLUMN kind DROP DEFAULT;
