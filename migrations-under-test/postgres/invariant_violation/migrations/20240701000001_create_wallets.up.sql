CREATE TABLE wallets (
    id       serial PRIMARY KEY,
    owner    text NOT NULL,
    balance  numeric(12, 2) NOT NULL CHECK (balance >= 0)
);
