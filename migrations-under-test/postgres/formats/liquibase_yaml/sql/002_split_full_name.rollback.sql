ALTER TABLE customers ADD COLUMN full_name text;
UPDATE customers SET full_name = first_name || ' ' || last_name;
ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
ALTER TABLE customers DROP COLUMN first_name, DROP COLUMN last_name;
