# test/bench/common.sh: what the benchmark scripts share: the audit event
# shellcheck shell=bash
# they insert (about 380 bytes, with a jsonb detail) and how they take a median.
# Sourced, not run.

EVENT_COLS="actor text NOT NULL, action text NOT NULL, provider text, model text,
    input_tokens int, output_tokens int, latency_ms int, cost numeric(12,6),
    client_addr inet, details jsonb, occurred_at timestamptz NOT NULL DEFAULT now()"

# insert_sql TABLE: a pgbench script inserting one event into TABLE
insert_sql() {
    cat <<SQL
\set u random(1, 5000)
\set tin random(10, 4000)
\set tout random(10, 2000)
\set lat random(50, 9000)
INSERT INTO $1 (actor, action, provider, model, input_tokens, output_tokens, latency_ms, cost, client_addr, details)
VALUES ('user-' || :u, 'chat.completion', 'openai', 'gpt-4o-2024-08-06', :tin, :tout, :lat, :tin * 0.0000025,
        '10.20.30.40', '{"request_id": "req_01J9ZK3W5X7Y8Z9A0B1C2D3E4F", "status": 200, "endpoint": "/v1/chat/completions", "user_agent": "python-httpx/0.27.0", "purpose": "customer-support", "region": "eu-west-1", "stream": false}');
SQL
}

# median: of the numbers on standard input (of the middle two, for an even count)
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# paired_ratio "A1 A2 ..." "B1 B2 ...": the median of A[i] / B[i], to two
# decimals.  Runs made back to back see the same machine, so their ratio is
# steadier than the ratio of two medians.
paired_ratio() {
    # shellcheck disable=SC2086  # the lists are meant to split
    paste <(printf '%s\n' $1) <(printf '%s\n' $2) |
        awk '{printf "%.4f\n", ($2 > 0 ? $1 / $2 : 0)}' | median | xargs printf '%.2f'
}

# rotated R WORD...: the words in turn, starting R places on (wrapping), one
# per line: repetition R of variants that take turns
rotated() {
    local r=$1 i
    shift
    for ((i = 0; i < $#; i++)); do
        local k=$(((i + r) % $# + 1))
        printf '%s\n' "${!k}"
    done
}
