-- Forgets the table: the next deploy of the up fails on CREATE TABLE.
DROP TRIGGER invoices_audit;
