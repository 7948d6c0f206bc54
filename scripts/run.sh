#!/usr/bin/env bash
# Builds berth and runs `berth server` on its embedded defaults (127.0.0.1:4566, us-east-1,
# account 000000000000, data in ~/.local/share/berth), then shows it working: a cluster, a
# sample task definition and one task whose output is printed.
#
#   scripts/run.sh            run in the foreground (Ctrl-C stops the server; tasks keep running
#                             and are adopted by the next start)
#   scripts/run.sh --detach   leave the server running in the background and return
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh

DATA_DIR="${BERTH_DATA_DIR:-$HOME/.local/share/berth}"
LISTEN="${BERTH_LISTEN:-127.0.0.1:4566}"
mkdir -p "$DATA_DIR"
rm -f "$DATA_DIR/ready"
build/bin/berth server --data-dir "$DATA_DIR" --listen "$LISTEN" --ready-file "$DATA_DIR/ready" \
  >>"$DATA_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -f "$DATA_DIR/ready" ] && break; sleep 0.1; done
if [ ! -f "$DATA_DIR/ready" ]; then
  echo "berth server did not start; see $DATA_DIR/server.log" >&2
  tail -20 "$DATA_DIR/server.log" >&2
  exit 1
fi
ENDPOINT="http://${LISTEN%:*}:$(cat "$DATA_DIR/ready")"
export AWS_SHARED_CREDENTIALS_FILE="$DATA_DIR/credentials" AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
AWS=(/usr/bin/aws --endpoint-url "$ENDPOINT")

# The sample: a cluster, a task definition and one task that really runs.
"${AWS[@]}" ecs create-cluster --cluster-name default >/dev/null
"${AWS[@]}" ecs register-task-definition --family berth-hello --memory 128 --container-definitions \
  '[{"name":"hello","image":"busybox","command":["sh","-c","echo hello from a berth task on $(hostname), region $AWS_REGION"]}]' \
  >/dev/null
TASK=$("${AWS[@]}" ecs run-task --task-definition berth-hello --query 'tasks[0].taskArn' --output text)
"${AWS[@]}" ecs wait tasks-stopped --tasks "$TASK"
EXIT=$("${AWS[@]}" ecs describe-tasks --tasks "$TASK" --query 'tasks[0].containers[0].exitCode' --output text)

cat <<MSG

berth server is up at $ENDPOINT (pid $SERVER_PID, data in $DATA_DIR, log in $DATA_DIR/server.log)

Sample task $TASK exited with code $EXIT; its output:
  $(cat "$DATA_DIR/tasks/${TASK##*/}/hello/stdout")

Point the aws CLI at it:
  export AWS_SHARED_CREDENTIALS_FILE=$DATA_DIR/credentials AWS_DEFAULT_REGION=us-east-1
  export AWS_ENDPOINT_URL=$ENDPOINT        # aws CLI >= 2.13 and v1; older: --endpoint-url $ENDPOINT
  aws ecs list-task-definitions
  aws ecs run-task --task-definition berth-hello

MSG
if [ "${1:-}" = "--detach" ]; then
  echo "(detached: stop it with: kill $SERVER_PID)"
  exit 0
fi
echo "Ctrl-C stops the server."
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; exit 0' INT TERM
wait "$SERVER_PID"
