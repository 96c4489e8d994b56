-- Moves free-text notes out of the hot table. The down restores them from the archive,
-- so nothing is lost, but the up itself removes a column with data: worth a review.
CREATE TABLE member_notes_archive AS SELECT id, notes FROM members;
ALTER TABLE member_notes_archive ADD PRIMARY KEY (id);
ALTER TABLE members DROP COLUMN notes;
