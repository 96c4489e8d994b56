DROP VIEW live_products;
