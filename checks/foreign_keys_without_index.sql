-- description: every foreign key has an index starting with its columns (the forgotten index)
-- severity: warning
-- engine: postgres
--
-- Without such an index, a DELETE or key UPDATE on the parent scans the whole child table,
-- under a lock, once per parent row.
SELECT c.conrelid::regclass AS "table",
       c.conname AS foreign_key,
       array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) k
                              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k), ', ') AS columns
FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'f'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (
      SELECT 1
      FROM pg_index i
      WHERE i.indrelid = c.conrelid
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
  );
