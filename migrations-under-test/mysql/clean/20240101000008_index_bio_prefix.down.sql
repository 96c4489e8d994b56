DROP INDEX products_name_ft ON products;
DROP INDEX users_bio_prefix_idx ON users;
