# Shared shell helpers: make sure RabbitMQ, PostgreSQL, nginx and the virtualenv are there.
# Installs what is missing with apt-get when run as root on Debian; otherwise reuses what runs.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PY=${PYTHON:-python3}
PG_ROLE=accr
PG_PASSWORD=accr

say() { echo "[accr] $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # wait_port PORT SECONDS
  local i
  for ((i = 0; i < $2 * 4; i++)); do port_open "$1" && return 0; sleep 0.25; done
  return 1
}

APT_UPDATED=
apt_install() {
  is_root || { say "need root to install $*"; return 1; }
  command -v apt-get >/dev/null || { say "no apt-get: install $* yourself"; return 1; }
  if [ -z "$APT_UPDATED" ]; then apt-get update -qq >/dev/null && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha"
  local want
  want=$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV" || { apt_install python3-venv && "$PY" -m venv "$VENV"; }
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python dependencies"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.txt" 2>&1 | grep -v "^WARNING: Location" >&2 || true
    "$VENV/bin/python" -c "import nameko, flask, sqlalchemy, kombu, pika, psycopg2" || return 1
    echo "$want" > "$stamp"
  fi
}

ensure_rabbitmq() {
  if [ -n "${AMQP_URI:-}" ]; then return 0; fi
  port_open 5672 && return 0
  if ! command -v rabbitmq-server >/dev/null; then
    say "installing RabbitMQ"
    apt_install rabbitmq-server || return 1
  fi
  say "starting RabbitMQ"
  if is_root; then rabbitmq-server -detached >/dev/null 2>&1 || true; fi
  wait_port 5672 90 || { say "RabbitMQ did not start"; return 1; }
  rabbitmqctl await_startup >/dev/null 2>&1 || true
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -1; }

ensure_postgres() {
  if [ -n "${TEST_PG_URL:-}" ]; then return 0; fi
  if ! port_open 5432; then
    if [ -z "$(pg_version)" ]; then
      say "installing PostgreSQL"
      apt_install postgresql || return 1
    fi
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(pg_version)" main start || true
    wait_port 5432 60 || { say "PostgreSQL did not start"; return 1; }
  fi
  # A role with a password works under both trust and scram-sha-256 authentication.
  if is_root && command -v runuser >/dev/null; then
    runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='$PG_ROLE'" 2>/dev/null | grep -q 1 ||
      runuser -u postgres -- psql -qc "CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >/dev/null
  fi
  export TEST_PG_URL="postgresql://$PG_ROLE:$PG_PASSWORD@127.0.0.1:5432/postgres"
}

ensure_nginx() {
  command -v nginx >/dev/null && return 0
  [ -x /usr/sbin/nginx ] && return 0
  say "installing nginx"
  apt_install nginx || say "nginx unavailable: the distributed tests will be skipped"
  # The package may start a default server on port 80; we run our own instances.
  if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
  return 0
}

ensure_compose() {  # optional: lets a test validate docker-compose.yml
  command -v docker-compose >/dev/null && return 0
  is_root || return 0
  apt_install docker-compose >/dev/null 2>&1 || say "docker-compose unavailable: its config test will be skipped"
  return 0
}

NODE_CONTRACT_DIR="$ROOT/tests/contract/node"
ensure_node_contract() {  # the police client written in Node from the AsyncAPI document, and its tests
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing Node.js and npm"
    apt_install nodejs npm || { say "Node.js unavailable: the Node contract tests will be skipped"; return 0; }
  fi
  local stamp="$NODE_CONTRACT_DIR/node_modules/.package-lock.sha"
  local want
  want=$(sha256sum "$NODE_CONTRACT_DIR/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing the Node contract client's packages (pinned in package-lock.json)"
    # no install scripts: the pinned packages need none, and none may phone home
    (cd "$NODE_CONTRACT_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
      { say "npm ci failed: the Node contract tests will be skipped"; return 0; }
    echo "$want" > "$stamp"
  fi
}

static_checks() {  # types and undefined or unused names; set ACCR_SKIP_STATIC=1 to skip while iterating
  [ "${ACCR_SKIP_STATIC:-0}" = 1 ] && return 0
  say "static checks: mypy, ruff"
  "$VENV/bin/python" -m mypy --no-error-summary >&2 || { say "mypy found type errors"; return 1; }
  "$VENV/bin/python" -m ruff check --quiet . >&2 || { say "ruff found problems"; return 1; }
}

ensure_chromium() {  # the browser tests drive Debian's chromium through chromium-driver
  local want=()
  { command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; } || want+=(chromium)
  { command -v chromedriver >/dev/null || [ -x /usr/bin/chromedriver ]; } || want+=(chromium-driver)
  if [ ${#want[@]} -gt 0 ]; then
    say "installing ${want[*]}"
    apt_install "${want[@]}" || { say "chromium unavailable: the browser tests will be skipped"; return 0; }
  fi
  # a CJK font, or the Chinese pages (and their screenshots) render as boxes
  if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    say "installing a Chinese font"
    apt_install fonts-wqy-microhei || say "no Chinese font: screenshots will show boxes"
  fi
  return 0
}
