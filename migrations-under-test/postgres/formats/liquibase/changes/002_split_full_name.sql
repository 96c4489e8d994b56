--liquibase formatted sql

--changeset ann:split-full-name
--comment: split the name for the address labels
ALTER TABLE customers ADD COLUMN first_name text, ADD COLUMN last_name text;
UPDATE customers
SET first_name = split_part(full_name, ' ', 1),
    last_name  = split_part(full_name, ' ', 2);
ALTER TABLE customers DROP COLUMN full_name;
--rollback ALTER TABLE customers ADD COLUMN full_name text;
--rollback UPDATE customers SET full_name = first_name || ' ' || last_name;
--rollback ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
--rollback ALTER TABLE customers DROP COLUMN first_name, DROP COLUMN last_name;
