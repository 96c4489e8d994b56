-- migrate:up
ALTER TABLE customers ADD COLUMN first_name text, ADD COLUMN last_name text;
UPDATE customers
SET first_name = split_part(full_name, ' ', 1),
    last_name  = split_part(full_name, ' ', 2);
ALTER TABLE customers DROP COLUMN full_name;

-- migrate:down
ALTER TABLE customers ADD COLUMN full_name text;
UPDATE customers SET full_name = first_name || ' ' || last_name;
ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
ALTER TABLE customers DROP COLUMN first_name, DROP COLUMN last_name;
