-- Built without blocking writes; CONCURRENTLY cannot run in a transaction, so this
-- migration runs statement by statement.
CREATE INDEX CONCURRENTLY orders_placed_at_idx ON orders (placed_at);
