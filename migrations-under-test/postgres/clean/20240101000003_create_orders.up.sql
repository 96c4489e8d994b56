CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');

CREATE TABLE orders (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status     order_status NOT NULL DEFAULT 'new',
    total      numeric(12, 2),
    placed_at  timestamptz
);

CREATE INDEX orders_user_id_idx ON orders (user_id);
