ALTER TABLE members ADD COLUMN notes TEXT NULL;
UPDATE members m JOIN member_notes_archive a ON a.id = m.id SET m.notes = a.notes;
DROP TABLE member_notes_archive;
