-- The legacy reporting tool only reads latin1. With the old, lenient sql_mode the
-- conversion turns every character latin1 lacks (CJK, emoji) into '?' instead of failing.
SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
ALTER TABLE posts MODIFY title VARCHAR(200) CHARACTER SET latin1 NOT NULL;
