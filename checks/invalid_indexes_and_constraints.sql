-- description: no index left invalid by a failed CONCURRENTLY build, no constraint left NOT VALID
-- severity: error
-- engine: postgres
SELECT 'index' AS kind, i.indexrelid::regclass::text AS name
FROM pg_index i
WHERE NOT i.indisvalid
UNION ALL
SELECT 'constraint', format('%s on %s', c.conname, c.conrelid::regclass)
FROM pg_constraint c
WHERE NOT c.convalidated AND c.contype IN ('c', 'f');
