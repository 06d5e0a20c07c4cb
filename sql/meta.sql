\set VERBOSITY terse
-- META.json's SemVer version follows the control file's default_version
\set meta `cat META.json`
SELECT (:'meta'::jsonb ->> 'version') AS meta_version,
       (:'meta'::jsonb -> 'provides' -> 'audit_chain' ->> 'version') AS provides_version,
       default_version,
       (:'meta'::jsonb ->> 'version') = default_version || '.0' AS in_step
  FROM pg_available_extensions WHERE name = 'audit_chain';
SELECT audit_chain.version() = extversion AS library_matches_sql FROM pg_extension WHERE extname = 'audit_chain';
