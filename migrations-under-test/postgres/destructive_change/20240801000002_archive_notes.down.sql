ALTER TABLE members ADD COLUMN notes text;
UPDATE members m SET notes = a.notes FROM member_notes_archive a WHERE a.id = m.id;
DROP TABLE member_notes_archive;
