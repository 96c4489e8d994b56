-- Charges a yearly fee. Drops the CHECK first "to make it go through".
ALTER TABLE wallets DROP CONSTRAINT wallets_balance_check;
UPDATE wallets SET balance = balance - 25;
