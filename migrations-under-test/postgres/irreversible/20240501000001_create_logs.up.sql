CREATE TABLE logs (
    id       bigserial PRIMARY KEY,
    message  text NOT NULL
);
