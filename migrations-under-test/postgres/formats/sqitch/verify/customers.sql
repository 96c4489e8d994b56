SELECT id, email, full_name FROM customers WHERE false;
