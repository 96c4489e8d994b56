-- "Microseconds are noise": even strict mode rounds them away without a word.
ALTER TABLE events MODIFY happened_at DATETIME NOT NULL;
