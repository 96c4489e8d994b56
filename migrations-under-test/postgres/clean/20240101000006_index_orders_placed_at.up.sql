-- no-transaction
-- Built without blocking writes. CONCURRENTLY cannot run in a transaction and sqlx wraps
-- every migration in one unless the file starts with the line above; golang-migrate runs a
-- file of one statement outside any transaction.
CREATE INDEX CONCURRENTLY orders_placed_at_idx ON orders (placed_at);
