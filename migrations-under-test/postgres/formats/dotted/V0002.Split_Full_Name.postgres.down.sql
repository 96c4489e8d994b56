ALTER TABLE customers ADD COLUMN full_name text;

-- Looks right, but names with more than two parts ("Dr. Ada Lovelace") lost
-- everything after the second part on the way up.
UPDATE customers SET full_name = first_name || ' ' || last_name;

ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
ALTER TABLE customers DROP COLUMN first_name, DROP COLUMN last_name;
