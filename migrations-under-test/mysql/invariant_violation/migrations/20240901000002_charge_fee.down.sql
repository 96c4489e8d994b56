UPDATE wallets SET balance = balance + 25;
ALTER TABLE wallets ADD CONSTRAINT wallets_balance_positive CHECK (balance >= 0);
