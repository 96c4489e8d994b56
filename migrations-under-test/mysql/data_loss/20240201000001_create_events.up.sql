CREATE TABLE events (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(100) NOT NULL,
    happened_at  DATETIME(6) NOT NULL
) ENGINE=InnoDB;
