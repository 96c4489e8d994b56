-- Without STRICT_TRANS_TABLES, MySQL truncates long values to fit and only warns.
SET SESSION sql_mode = '';
ALTER TABLE profiles MODIFY bio VARCHAR(50) NULL;
