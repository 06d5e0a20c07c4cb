-- test/verifier/make_checkpoint.sql: a version 2 checkpoint made by hand,
-- for test/verifier/run.sh on a server whose audit_chain.checkpoint() does
-- not write version 2 yet (before the signing work lands).  It writes
-- exactly the payload of doc/checkpoints.md section 1 into
-- audit_chain.checkpoints; run.sh signs it with openssl and stores the
-- signature, the key id and the public key.  Superuser only; test databases
-- only.
CREATE SCHEMA IF NOT EXISTS ac_test;

-- one part of a name, percent-encoded (doc/checkpoints.md section 1)
CREATE FUNCTION ac_test.pct(s text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    b bytea := convert_to(s, 'UTF8');
    out text := '';
    c int;
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        c := get_byte(b, i);
        IF (c BETWEEN 48 AND 57) OR (c BETWEEN 65 AND 90) OR (c BETWEEN 97 AND 122) OR c = 95 THEN
            out := out || chr(c);
        ELSE
            out := out || '%' || upper(lpad(to_hex(c), 2, '0'));
        END IF;
    END LOOP;
    RETURN out;
END $$;

-- stores and returns the id of a new version 2 checkpoint, unsigned, with
-- key_id line key_hex (or none)
CREATE FUNCTION ac_test.make_checkpoint(key_hex text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    id bigint := nextval(pg_get_serial_sequence('audit_chain.checkpoints', 'checkpoint_id'));
    at timestamptz := clock_timestamp();
    prev bytea;
    lines text[] := '{}';
    r record;
    head_at bigint;
    body text;
BEGIN
    SELECT sha256(payload) INTO prev FROM audit_chain.checkpoints ORDER BY checkpoint_id DESC LIMIT 1;
    FOR r IN
        SELECT ac_test.pct(n.nspname) || '.' || ac_test.pct(c.relname) AS tname, ch.tbl, ch.lane, ch.genesis,
               ch.archived_seq, coalesce(ch.archived_hash, ch.genesis) AS start_hash,
               ch.purged_seq, coalesce(ch.purged_hash, ch.genesis) AS purged_hash, h.seq, h.hash
          FROM audit_chain.chains ch
          JOIN pg_class c ON c.oid = ch.tbl JOIN pg_namespace n ON n.oid = c.relnamespace,
               LATERAL audit_chain.lane_head(ch.tbl, ch.lane) h
    LOOP
        head_at := NULL;
        IF r.seq > r.archived_seq THEN
            EXECUTE format('SELECT (extract(epoch FROM chain_at) * 1000000)::bigint FROM %s WHERE chain_lane = $1 AND chain_seq = $2', r.tbl)
               INTO head_at USING r.lane, r.seq;
        END IF;
        lines := lines || format('lane %s %s %s %s %s %s %s %s %s %s', r.tname, r.lane, encode(r.genesis, 'hex'),
                                 r.seq, encode(r.hash, 'hex'), coalesce(head_at::text, '-'),
                                 r.archived_seq, encode(r.start_hash, 'hex'), r.purged_seq, encode(r.purged_hash, 'hex'));
    END LOOP;
    SELECT coalesce(string_agg(l, E'\n' ORDER BY convert_to(split_part(l, ' ', 2), 'UTF8'), split_part(l, ' ', 3)::int) || E'\n', '')
      INTO body FROM unnest(lines) l;
    INSERT INTO audit_chain.checkpoints (checkpoint_id, created_at, payload)
    OVERRIDING SYSTEM VALUE
    VALUES (id, at, convert_to('audit_chain/checkpoint/v2' || E'\n'
        || 'checkpoint_id ' || id || E'\n'
        || 'created_at ' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n'
        || 'database ' || ac_test.pct(current_database()) || E'\n'
        || 'previous ' || coalesce(encode(prev, 'hex'), 'none') || E'\n'
        || 'key_id ' || coalesce(key_hex, 'none') || E'\n'
        || body
        || 'end ' || cardinality(lines) || E'\n', 'UTF8'));
    RETURN id;
END $$;
