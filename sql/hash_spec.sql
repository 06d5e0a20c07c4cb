\set VERBOSITY terse
-- The hash format, doc/hash-format.md, written out in plain SQL and compared
-- with what the C trigger computed: the executable form of the spec.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';

CREATE TABLE public.spec (
    id      bigint,
    "Name"  text,
    gone    text,
    amount  numeric(10,3),
    at      timestamptz,
    doc     jsonb,
    ok      boolean,
    "é"     text,
    twice   bigint GENERATED ALWAYS AS (id * 2) STORED
);
ALTER TABLE spec DROP COLUMN gone;
SELECT audit_chain.protect('public.spec');
INSERT INTO spec (id, "Name", amount, at, doc, ok, "é")
VALUES (1, 'first', 1.5, '2024-01-01 12:00:00+02', '{"k": [1, "two"]}', true, 'accent'),
       (2, NULL, -0.001, '1969-07-20 20:17:40+00', NULL, false, ''),
       (3, 'Ünïcode ☃', 0, 'infinity', '[]', NULL, NULL);

-- one term per hashed column: uint32_be(len(name)) || name || sha256(canonical text)
CREATE FUNCTION public.term(name text, value text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN ''::bytea
                ELSE int4send(octet_length(convert_to(name, 'UTF8')))
                     || convert_to(name, 'UTF8')
                     || sha256(convert_to(value, 'UTF8'))
           END
$$;

SELECT chain_seq,
       sha256(convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
              || int8send(chain_seq)
              || int8send((extract(epoch FROM chain_at) * 1000000)::bigint)
              || chain_prev
              || term('id', id::text)
              || term('Name', "Name")
              || term('amount', amount::text)
              || term('at', at::text)
              || term('doc', doc::text)
              || term('ok', CASE ok WHEN true THEN 't' WHEN false THEN 'f' END)
              || term('é', "é")) = chain_hash AS sql_matches_c,
       audit_chain.row_hash('spec', 0, chain_seq) = chain_hash AS row_hash_matches,
       sha256(audit_chain.canonical_row('spec', 0, chain_seq)) = chain_hash AS canonical_row_matches
  FROM spec ORDER BY chain_seq;

-- careful: the canonical text of a boolean is its output function's t/f, not
-- the true/false of a cast to text
SELECT true::text AS bool_cast, audit_chain.canonical_text(true) AS canonical;
