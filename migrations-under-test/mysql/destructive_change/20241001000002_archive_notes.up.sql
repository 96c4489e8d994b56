CREATE TABLE member_notes_archive (PRIMARY KEY (id)) AS SELECT id, notes FROM members;
ALTER TABLE members DROP COLUMN notes;
