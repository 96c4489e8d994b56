ALTER TABLE wallets DROP CONSTRAINT wallets_balance_positive;
UPDATE wallets SET balance = balance - 25;
