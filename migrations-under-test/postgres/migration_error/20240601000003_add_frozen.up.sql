ALTER TABLE accounts ADD COLUMN frozen boolean NOT NULL DEFAULT false;
