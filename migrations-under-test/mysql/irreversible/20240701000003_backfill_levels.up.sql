UPDATE logs SET level = 3 WHERE message LIKE '%error%';
