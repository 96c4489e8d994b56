ALTER TABLE people ADD COLUMN nickname text;
