#!/usr/bin/env bash
# Kill trials: runs `check`, `seed`, `mask` and `dry-run` on every engine, kills each run at a
# random moment (SIGKILL, which nothing can catch, or SIGTERM / SIGINT, which driftless handles),
# and counts what is left: server processes, sandbox dirs, staging folders and half-written
# outputs, throwaway databases on a `--url` server. After a SIGKILL some leftovers are expected
# until the next run (or `driftless clean`) sweeps them; after SIGTERM / SIGINT nothing may be
# left at all. The summary says both, per engine and command.
#
#   bash scripts/kill-trials.sh            # 3 trials per engine × command × signal
#   TRIALS=5 bash scripts/kill-trials.sh
#
# Not part of `make test`: it takes minutes and its numbers go into notes, not assertions.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/driftless}
TRIALS=${TRIALS:-3}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }

WORK=$(mktemp -d /tmp/driftless-kill-trials-XXXXXX)
# Servers run as an unprivileged user when this runs as root: they must reach their dirs.
chmod 755 "$WORK"
export DRIFTLESS_TMPDIR=$WORK/sandboxes
export DRIFTLESS_MASK_KEY=kill-trials-key-0123456789abcdef
mkdir -p "$DRIFTLESS_TMPDIR" "$WORK/out"
SOURCES=$WORK/sources
mkdir -p "$SOURCES"
chmod 755 "$SOURCES" "$DRIFTLESS_TMPDIR"
export DRIFTLESS_TMPDIR_SOURCES=$SOURCES

stop_sources() {
  for dir in "$SOURCES"/*/; do
    [ -d "$dir" ] || continue
    pkill -QUIT -f -- "$dir" 2>/dev/null
  done
  sleep 1
  for dir in "$SOURCES"/*/; do
    [ -d "$dir" ] || continue
    pkill -KILL -f -- "$dir" 2>/dev/null
  done
}
trap 'stop_sources; rm -rf "$WORK"' EXIT

# A kept server holding the demo schema with rows: the source of `mask` and the `--url` server.
keep_source() { # engine migrations → prints the URL
  local engine=$1 migrations=$2
  DRIFTLESS_TMPDIR=$SOURCES "$BIN" check --engine "$engine" --migrations "$migrations" \
    --keep --quiet >/dev/null 2>"$WORK/keep-$engine.log"
  local dir
  dir=$(grep -o "$SOURCES/driftless-[^ )/]*" "$WORK/keep-$engine.log" | head -1)
  [ -n "$dir" ] && [ -f "$dir/url" ] && cat "$dir/url"
}

# Leftovers of runs in $DRIFTLESS_TMPDIR and $WORK/out, and driftless_ databases on the URL.
count_processes() { pgrep -f -- "$DRIFTLESS_TMPDIR/" | wc -l; }
count_dirs() { find "$DRIFTLESS_TMPDIR" -mindepth 1 -maxdepth 1 | wc -l; }
count_files() { find "$WORK/out" -mindepth 1 -maxdepth 1 -name '.driftless-*' | wc -l; }
count_databases() { # engine url
  case $1 in
    postgres) psql_bin=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
      "$psql_bin" "$2" -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'driftless\\_%'" 2>/dev/null || echo "?";;
    mysql) echo "-";;
    *) echo "-";;
  esac
}

run_killed() { # engine command signal args…
  local engine=$1 command=$2 sig=$3; shift 3
  local delay
  delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.01 + (r % 50) / 100 }')
  "$BIN" "$command" "$@" >/dev/null 2>"$WORK/last.log" &
  local pid=$!
  disown "$pid" 2>/dev/null
  sleep "$delay"
  # A run faster than the delay has ended already: that trial did not interrupt anything.
  if kill -"$sig" "$pid" 2>/dev/null; then LANDED=1; else LANDED=0; fi
  local waited=0
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "HUNG: $engine $command after $sig" >&2
    kill -KILL "$pid" 2>/dev/null
    HUNG=$((HUNG + 1))
  fi
  # Server processes die with driftless (parent-death signal); give them a moment.
  sleep 0.5
}

HUNG=0
declare -A TOTAL MID_RUN LEFT_AFTER_KILL LEFT_AFTER_SWEEP
LANDED=0
record() { # key
  TOTAL[$1]=$(( ${TOTAL[$1]:-0} + 1 ))
  MID_RUN[$1]=$(( ${MID_RUN[$1]:-0} + LANDED ))
}

PG_URL=$(keep_source postgres migrations-under-test/postgres/clean)
MY_URL=$(keep_source mysql migrations-under-test/mysql/clean)
[ -n "$PG_URL" ] || { echo "could not keep a PostgreSQL source: $(cat "$WORK/keep-postgres.log")" >&2; exit 3; }
# Rows in the sources, so that mask and the snapshots have something to copy.
"$BIN" seed --url "$PG_URL" --rows 20000 --overrides fixtures/seed.toml --quiet >/dev/null 2>&1
[ -n "$MY_URL" ] && "$BIN" seed --engine mysql --url "$MY_URL" --rows 5000 --quiet >/dev/null 2>&1
PG_DUMP=$(ls /usr/lib/postgresql/*/bin/pg_dump 2>/dev/null | tail -1)
"$PG_DUMP" --format=custom --file="$WORK/pg.dump" "$PG_URL" 2>/dev/null
if [ -n "$MY_URL" ] && command -v mariadb-dump >/dev/null; then
  my_pw=$(sed -E 's|mysql://[^:]*:([^@]*)@.*|\1|' <<<"$MY_URL")
  my_sock=$(grep -o "$SOURCES/driftless-[^ )/]*mysql[^ )/]*" "$WORK/keep-mysql.log" | head -1)
  MYSQL_PWD=$my_pw mariadb-dump --socket="$my_sock/mysqld.sock" -uroot "$(sed -E 's|.*/([^/?]*).*|\1|' <<<"$MY_URL")" >"$WORK/my.sql" 2>/dev/null
fi

trial() { # engine command args…
  local engine=$1 command=$2; shift 2
  for sig in KILL TERM INT; do
    for _ in $(seq "$TRIALS"); do
      local key="$engine ${LABEL:-$command} $sig"
      rm -rf "$WORK/out"/* "$WORK/out"/.driftless-* 2>/dev/null
      run_killed "$engine" "$command" "$sig" "$@"
      record "$key"
      local procs dirs files
      procs=$(count_processes); dirs=$(count_dirs); files=$(count_files)
      if [ $((procs + dirs + files)) -gt 0 ]; then
        LEFT_AFTER_KILL[$key]=$(( ${LEFT_AFTER_KILL[$key]:-0} + 1 ))
      fi
      # What the next run sweeps: `driftless clean` does the same sweeps as a run.
      "$BIN" clean "$WORK/out" ${URL_FOR_CLEAN:+--url "$URL_FOR_CLEAN"} >/dev/null 2>&1
      sleep 0.3
      procs=$(count_processes); dirs=$(count_dirs); files=$(count_files)
      if [ $((procs + dirs + files)) -gt 0 ]; then
        LEFT_AFTER_SWEEP[$key]=$(( ${LEFT_AFTER_SWEEP[$key]:-0} + 1 ))
        echo "left after sweep: $key: $procs processes, $dirs dirs, $files files" >&2
        pkill -KILL -f -- "$DRIFTLESS_TMPDIR/" 2>/dev/null
        rm -rf "$DRIFTLESS_TMPDIR"/* "$WORK/out"/.driftless-* 2>/dev/null
      fi
    done
  done
}

URL_FOR_CLEAN=
trial postgres check --migrations migrations-under-test/postgres/data_loss
trial postgres seed --migrations migrations-under-test/postgres/clean --rows 50000 --out "$WORK/out/seed"
trial postgres mask --from "$PG_URL" --rules fixtures/masking.toml --out "$WORK/out/masked.dump"
[ -s "$WORK/pg.dump" ] && trial postgres dry-run --snapshot "$WORK/pg.dump" --migrations migrations-under-test/postgres/clean
URL_FOR_CLEAN=$PG_URL
before=$(count_databases postgres "$PG_URL")
LABEL=check-url trial postgres check --url "$PG_URL" --migrations migrations-under-test/postgres/data_loss
after=$(count_databases postgres "$PG_URL")
URL_FOR_CLEAN=
if [ -n "$MY_URL" ]; then
  trial mysql check --engine mysql --migrations migrations-under-test/mysql/data_loss
  trial mysql seed --engine mysql --migrations migrations-under-test/mysql/clean --rows 20000 --out "$WORK/out/seed"
  trial mysql mask --engine mysql --from "$MY_URL" --out "$WORK/out/masked.sql"
  [ -s "$WORK/my.sql" ] && trial mysql dry-run --engine mysql --snapshot "$WORK/my.sql" --migrations migrations-under-test/mysql/clean
fi
if "$BIN" check --engine mongo --migrations migrations-under-test/mongo/clean --quiet >/dev/null 2>&1; then
  trial mongo check --engine mongo --migrations migrations-under-test/mongo/unset_lossy
  trial mongo seed --engine mongo --migrations migrations-under-test/mongo/clean --rows 5000 --out "$WORK/out/seed"
  echo "mongo mask and dry-run: not tried (mask needs a MongoDB source and dry-run a mongodump archive; neither tool is installed here)" >&2
else
  echo "mongo: skipped, FerretDB is not available (make setup-mongo)" >&2
fi

echo
printf '%-32s %7s %8s %22s %24s\n' "engine command signal" trials mid-run "left right after kill" "left after next sweep"
total=0 mid=0 kill_left=0 sweep_left=0
for key in $(printf '%s\n' "${!TOTAL[@]}" | tr ' ' '|' | sort); do
  k=${key//|/ }
  printf '%-32s %7d %8d %22d %24d\n' "$k" "${TOTAL[$k]}" "${MID_RUN[$k]:-0}" "${LEFT_AFTER_KILL[$k]:-0}" "${LEFT_AFTER_SWEEP[$k]:-0}"
  total=$((total + TOTAL[$k]))
  mid=$((mid + ${MID_RUN[$k]:-0}))
  kill_left=$((kill_left + ${LEFT_AFTER_KILL[$k]:-0}))
  sweep_left=$((sweep_left + ${LEFT_AFTER_SWEEP[$k]:-0}))
done
echo
echo "trials: $total, $mid of them killed while running (the rest had finished) · runs that left something right after the kill: $kill_left · left after the next sweep: $sweep_left · hung after a signal: $HUNG"
echo "throwaway databases on the --url server: $before before the --url trials, $after after them (before clean); $(count_databases postgres "$PG_URL") now"
[ "$sweep_left" -eq 0 ] && [ "$HUNG" -eq 0 ]
