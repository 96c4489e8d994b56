ALTER TABLE accounts ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'EUR';
CREATE INDEX accounts_currency_idx ON accounts (currency);

-- Typo: the column is called "balance". The two statements above are already
-- committed (DDL commits implicitly): production would be stuck half-migrated.
UPDATE accounts SET balanse = ROUND(balance, 0) WHERE currency = 'JPY';
