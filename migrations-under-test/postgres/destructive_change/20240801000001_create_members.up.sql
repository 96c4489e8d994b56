CREATE TABLE members (
    id     serial PRIMARY KEY,
    email  text NOT NULL UNIQUE,
    notes  text
);
