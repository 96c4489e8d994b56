DROP INDEX accounts_currency_idx ON accounts;
ALTER TABLE accounts DROP COLUMN currency;
