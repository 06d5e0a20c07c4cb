\set VERBOSITY terse
-- protect(): objects that cannot be chained
CREATE VIEW public.v AS SELECT 1 AS x;
SELECT audit_chain.protect('public.v');
CREATE MATERIALIZED VIEW public.mv AS SELECT 1 AS x;
SELECT audit_chain.protect('public.mv');
CREATE SEQUENCE public.sq;
SELECT audit_chain.protect('public.sq');
CREATE FOREIGN DATA WRAPPER ac_dummy_fdw;
CREATE SERVER ac_dummy_srv FOREIGN DATA WRAPPER ac_dummy_fdw;
CREATE FOREIGN TABLE public.ft (x int) SERVER ac_dummy_srv;
SELECT audit_chain.protect('public.ft');
CREATE TEMP TABLE tmp_audit (x int);
SELECT audit_chain.protect('tmp_audit');
CREATE UNLOGGED TABLE public.unlogged_audit (x int);
SELECT audit_chain.protect('public.unlogged_audit');
SELECT audit_chain.protect('public.events_p_2025');
SELECT audit_chain.protect('audit_chain.chains');
SELECT audit_chain.protect(NULL);
SELECT audit_chain.protect('public.no_such_table');

-- column types whose text form depends on settings
CREATE TABLE public.with_money (id int, price money);
SELECT audit_chain.protect('public.with_money');
CREATE TABLE public.with_money_array (id int, prices money[]);
SELECT audit_chain.protect('public.with_money_array');
CREATE DOMAIN public.price AS money;
CREATE TABLE public.with_money_domain (id int, p public.price);
SELECT audit_chain.protect('public.with_money_domain');
CREATE TABLE public.with_regclass (id int, t regclass);
SELECT audit_chain.protect('public.with_regclass');
SELECT count(*) AS columns_left_behind FROM pg_attribute
 WHERE attrelid = 'public.with_money'::regclass AND attname LIKE 'chain\_%';

-- lanes out of range
CREATE TABLE public.lanes_t (x int);
SELECT audit_chain.protect('public.lanes_t', lanes => 0);
SELECT audit_chain.protect('public.lanes_t', lanes => 65);
SELECT audit_chain.protect('public.lanes_t', lanes => NULL);

-- a column named like a chain column
CREATE TABLE public.clash (chain_seq int);
SELECT audit_chain.protect('public.clash');

-- twice
SELECT audit_chain.protect('public.orders_audit');

-- verify_chain and friends on tables that are not chained
SELECT * FROM audit_chain.verify_chain('public.lanes_t');
SELECT * FROM audit_chain.verify_chain('public.no_such_table');
SELECT audit_chain.unprotect('public.lanes_t');
SELECT audit_chain.row_hash('public.orders_audit', 0, 999);
SELECT audit_chain.row_hash('public.orders_audit', 99, 1);
SELECT audit_chain.canonical_row('public.orders_audit', -1, 1);
SELECT audit_chain.canonical_text(1::money);

-- privileges
GRANT SELECT, INSERT ON public.orders_audit TO ac_app;
SET ROLE ac_app;
SELECT audit_chain.protect('public.lanes_t');
SELECT * FROM audit_chain.verify_chain('public.orders_audit');
CALL audit_chain.assert_intact();
SELECT audit_chain.checkpoint();
SELECT audit_chain.unprotect('public.orders_audit');
-- what the application role can do: insert (the registry is private)
INSERT INTO public.orders_audit (actor, action) VALUES ('app', 'insert as app');
SELECT count(*) > 0 AS app_sees_chains FROM audit_chain.chains;
RESET ROLE;
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer) TO ac_app;
GRANT EXECUTE ON FUNCTION audit_chain.verify_chain(regclass, boolean, json, text) TO ac_auditor;
SET ROLE ac_app;
SELECT audit_chain.protect('public.lanes_t');
RESET ROLE;
SET ROLE ac_auditor;
SELECT * FROM audit_chain.verify_chain('public.orders_audit');
RESET ROLE;
GRANT SELECT ON public.orders_audit TO ac_auditor;
GRANT SELECT ON audit_chain.verification_log TO ac_auditor;
SET ROLE ac_auditor;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('public.orders_audit');
SELECT verified_by, tbl, intact FROM audit_chain.verification_log ORDER BY verification_id DESC LIMIT 1;
RESET ROLE;

-- verification must see every row: not under row-level security
CREATE TABLE public.rls_audit (id int, owner_name text);
SELECT audit_chain.protect('public.rls_audit');
INSERT INTO public.rls_audit VALUES (1, 'ac_auditor'), (2, 'someone else');
ALTER TABLE public.rls_audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.rls_audit USING (owner_name = current_user);
GRANT SELECT ON public.rls_audit TO ac_auditor;
SET ROLE ac_auditor;
SELECT * FROM audit_chain.verify_chain('public.rls_audit');
RESET ROLE;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('public.rls_audit');
