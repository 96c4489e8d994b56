ALTER TABLE products RENAME CONSTRAINT products_code_key TO products_sku_key;
ALTER TABLE products RENAME COLUMN code TO sku;
