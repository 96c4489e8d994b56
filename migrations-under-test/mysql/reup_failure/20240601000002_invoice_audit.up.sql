CREATE TABLE invoice_audit (
    invoice_id  INT NOT NULL,
    changed_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;
CREATE TRIGGER invoices_audit AFTER UPDATE ON invoices
FOR EACH ROW INSERT INTO invoice_audit (invoice_id) VALUES (NEW.id);
