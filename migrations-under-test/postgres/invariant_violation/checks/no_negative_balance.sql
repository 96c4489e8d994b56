-- description: wallets never go below zero
-- severity: error
SELECT id, owner, balance
FROM wallets
WHERE balance < 0;
