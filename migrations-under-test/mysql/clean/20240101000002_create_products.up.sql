CREATE TABLE products (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sku         CHAR(12) NOT NULL,
    name        VARCHAR(120) NOT NULL,
    price       DECIMAL(10, 2) NOT NULL CHECK (price > 0),
    stock       SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    status      ENUM('draft', 'live', 'retired') NOT NULL DEFAULT 'draft',
    attributes  JSON,
    UNIQUE KEY products_sku_uq (sku)
) ENGINE=InnoDB;
