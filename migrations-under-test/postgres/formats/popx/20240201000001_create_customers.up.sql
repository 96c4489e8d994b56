CREATE TABLE customers (
    id         serial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    full_name  text NOT NULL
);
