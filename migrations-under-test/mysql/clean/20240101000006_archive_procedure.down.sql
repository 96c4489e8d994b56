DROP PROCEDURE retire_product;
