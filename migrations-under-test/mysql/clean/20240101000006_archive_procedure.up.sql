DELIMITER //
CREATE PROCEDURE retire_product(IN product BIGINT)
BEGIN
    UPDATE products SET status = 'retired' WHERE id = product;
    SELECT ROW_COUNT() AS retired;
END //
DELIMITER ;
