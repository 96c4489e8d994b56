ALTER TABLE accounts ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR';

-- Typo: the column is called "balance".
UPDATE accounts
SET balanse = round(balance, 0)
WHERE currency = 'JPY';
