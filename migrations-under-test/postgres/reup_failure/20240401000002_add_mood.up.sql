CREATE TYPE mood AS ENUM ('happy', 'ok', 'grumpy');
ALTER TABLE people ADD COLUMN mood mood;
