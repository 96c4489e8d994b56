SELECT first_name, last_name FROM customers WHERE false;
