CREATE TABLE addresses (
    id        bigserial PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    street    text NOT NULL,
    city      text NOT NULL,
    zip_code  varchar(10),
    country   char(2) NOT NULL DEFAULT 'US'
);

CREATE INDEX addresses_user_id_idx ON addresses (user_id);
