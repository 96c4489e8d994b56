CREATE TABLE wallets (
    id       INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner    VARCHAR(100) NOT NULL,
    balance  DECIMAL(12, 2) NOT NULL,
    CONSTRAINT wallets_balance_positive CHECK (balance >= 0)
) ENGINE=InnoDB;
