DELIMITER $$
CREATE TRIGGER orders_total_not_negative
BEFORE INSERT ON orders
FOR EACH ROW
BEGIN
    IF NEW.total < 0 THEN
        SET NEW.total = 0;
    END IF;
END$$
DELIMITER ;
