-- description: every table has a primary key (logical replication, row-level diffs and most ORMs need one)
-- severity: warning
-- engine: postgres
SELECT format('%I.%I', n.nspname, c.relname) AS "table"
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p');
