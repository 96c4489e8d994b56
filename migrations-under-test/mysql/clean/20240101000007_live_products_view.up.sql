CREATE VIEW live_products AS
SELECT id, sku, name, price
FROM products
WHERE status = 'live';
