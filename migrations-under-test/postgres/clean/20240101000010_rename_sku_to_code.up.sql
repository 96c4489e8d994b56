ALTER TABLE products RENAME COLUMN sku TO code;
ALTER TABLE products RENAME CONSTRAINT products_sku_key TO products_code_key;
