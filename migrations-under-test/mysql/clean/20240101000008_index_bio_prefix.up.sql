# A prefix index: only the first 20 characters of bio.
CREATE INDEX users_bio_prefix_idx ON users (bio(20));
CREATE FULLTEXT INDEX products_name_ft ON products (name);
