# Shared by scripts/bench and scripts/crash-check: starting and stopping Signet, nginx and a private
# PostgreSQL on loopback. Source it after setting `root` (the worktree) and `work` (a temp dir).

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

target_dir=${CARGO_TARGET_DIR:-$root/target}
# SIGNET_PROFILE=debug runs the debug binaries (with --no-build): for checking correctness, e.g.
# scripts/crash-check, on a machine where a release build takes too long. Never for figures.
profile=${SIGNET_PROFILE:-release}
signet=$target_dir/$profile/signet
bench=$target_dir/$profile/signet-bench

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  die "nothing listens on port $1"
}

# Debian packages the scripts need (nginx with the DAV module, wrk, PostgreSQL, curl, jq).
ensure_packages() {
  local need=()
  command -v nginx >/dev/null || need+=(nginx-light libnginx-mod-http-dav-ext)
  command -v wrk >/dev/null || need+=(wrk)
  command -v curl >/dev/null || need+=(curl)
  command -v jq >/dev/null || need+=(jq)
  command -v python3 >/dev/null || need+=(python3)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing Debian packages: ${need[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

build_release() {
  log "cargo build --release -p signet -p signet-bench"
  (cd "$root" && cargo build --release -p signet -p signet-bench)
}

# --- Signet --------------------------------------------------------------------------------------
# Every function takes the data dir; SIGNET_DATABASE_URL in the environment selects PostgreSQL.
signet_pid=""
signet_port=""
signet_url=""

# new_tenant DATA_DIR → sets tenant_id and api_key
new_tenant() {
  local json
  json=$("$signet" --data-dir "$1" tenant create --name "Bench $(date +%s%N)" \
    --max-transaction-bytes $((4 * 1024 * 1024 * 1024)) --json 2>>"$1.log")
  tenant_id=$(jq -r .tenantId <<<"$json")
  api_key=$(jq -r .apiKey <<<"$json")
  [ -n "$tenant_id" ] && [ "$tenant_id" != null ] || die "tenant create printed no tenantId: $json"
}

# start_signet DATA_DIR [PORT] → sets signet_pid, signet_port, signet_url; logs to DATA_DIR.log
start_signet() {
  signet_port=${2:-$(free_port)}
  signet_url="http://127.0.0.1:$signet_port"
  "$signet" --data-dir "$1" serve --listen "127.0.0.1:$signet_port" --public-url "$signet_url" \
    >>"$1.log" 2>&1 &
  signet_pid=$!
  wait_port "$signet_port"
}

stop_signet() {
  if [ -n "$signet_pid" ] && kill -0 "$signet_pid" 2>/dev/null; then
    kill -TERM "$signet_pid"
    wait "$signet_pid" 2>/dev/null || true
  fi
  signet_pid=""
}

kill9_signet() {
  kill -KILL "$signet_pid"
  wait "$signet_pid" 2>/dev/null || true
  signet_pid=""
}

# peak resident memory of the Signet process so far, in KiB
signet_hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$signet_pid/status"; }

# --- PostgreSQL on a private data directory -------------------------------------------------------
pg_data=""
as_pg=""
pg_bin=""
# start_postgres → sets pg_url (a server URL; create databases with create_pg_database)
start_postgres() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pg_data=$(mktemp -d "$work/pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$work"   # mktemp's 700 would keep the postgres account out
    chown postgres "$pg_data"; chmod 700 "$pg_data"
    as_pg="runuser -u postgres --"
  fi
  local port; port=$(free_port)
  $as_pg "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres >"$work/initdb.log" 2>&1
  $as_pg "$pg_bin/pg_ctl" -D "$pg_data" -w -l "$pg_data/server.log" \
    -o "-p $port -k $pg_data -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=128MB" \
    start >/dev/null
  pg_url="postgres://postgres@127.0.0.1:$port"
}

create_pg_database() { psql -q "$pg_url/postgres" -c "CREATE DATABASE $1" >/dev/null; }

stop_postgres() {
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    $as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1 || true
  fi
}
