# Nothing to undo: the old levels are gone.
