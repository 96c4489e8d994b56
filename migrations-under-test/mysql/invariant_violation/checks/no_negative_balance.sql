-- description: wallets never go below zero
-- engine: mysql
SELECT id, owner, balance FROM wallets WHERE balance < 0;
