#!/usr/bin/env bash
# Builds berth and runs `berth server` on its embedded defaults (127.0.0.1:4566, us-east-1,
# account 000000000000, data in ~/.local/share/berth), then shows it working: a cluster, a
# sample task definition and one task whose output is printed, and a sample web service of two
# tasks deployed behind a berth load balancer, whose URL is printed.
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

# The sample service: a web page served by two tasks behind a load balancer (ELBv2 API),
# rolled out by the service scheduler. Re-running the script updates it in place.
WEB_DIR="$DATA_DIR/sample-web"
mkdir -p "$WEB_DIR"
echo "<h1>hello from a berth service task</h1>" >"$WEB_DIR/index.html"
CONTAINERS=$(python3 -c 'import json, sys; print(json.dumps([{
  "name": "web", "image": "python", "portMappings": [{"containerPort": 8000}],
  "command": ["sh", "-c", "exec python3 -m http.server \"$PORT\" --bind 127.0.0.1 --directory " + sys.argv[1]]}]))' "$WEB_DIR")
"${AWS[@]}" ecs register-task-definition --family berth-web --memory 128 \
  --container-definitions "$CONTAINERS" >/dev/null
LB=$("${AWS[@]}" elbv2 create-load-balancer --name berth-demo --subnets subnet-a subnet-b \
  --query 'LoadBalancers[0].LoadBalancerArn' --output text)
TG=$("${AWS[@]}" elbv2 create-target-group --name berth-web --protocol HTTP --port 8000 \
  --vpc-id vpc-berth --target-type ip --health-check-path / --health-check-interval-seconds 5 \
  --health-check-timeout-seconds 2 --healthy-threshold-count 2 \
  --query 'TargetGroups[0].TargetGroupArn' --output text)
"${AWS[@]}" elbv2 modify-target-group-attributes --target-group-arn "$TG" \
  --attributes Key=deregistration_delay.timeout_seconds,Value=5 >/dev/null
LB_PORT=$("${AWS[@]}" elbv2 describe-listeners --load-balancer-arn "$LB" \
  --query 'Listeners[0].Port' --output text)
if [ "$LB_PORT" = "None" ] || [ -z "$LB_PORT" ]; then
  LB_PORT="${BERTH_DEMO_PORT:-8080}"
  if ! "${AWS[@]}" elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTP \
      --port "$LB_PORT" --default-actions "Type=forward,TargetGroupArn=$TG" >/dev/null 2>&1; then
    # The usual port is taken on this machine: any free one.
    LB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${AWS[@]}" elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTP \
      --port "$LB_PORT" --default-actions "Type=forward,TargetGroupArn=$TG" >/dev/null
  fi
fi
if [ "$("${AWS[@]}" ecs describe-services --services berth-web --query 'services[0].status' --output text)" = "ACTIVE" ]; then
  "${AWS[@]}" ecs update-service --service berth-web --task-definition berth-web --desired-count 2 >/dev/null
else
  "${AWS[@]}" ecs create-service --service-name berth-web --task-definition berth-web \
    --desired-count 2 --load-balancers "targetGroupArn=$TG,containerName=web,containerPort=8000" \
    >/dev/null
fi
"${AWS[@]}" ecs wait services-stable --services berth-web
URL="http://127.0.0.1:$LB_PORT/"
for _ in $(seq 150); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" = "200" ] && break
  sleep 0.2
done
DNS=$("${AWS[@]}" elbv2 describe-load-balancers --load-balancer-arns "$LB" \
  --query 'LoadBalancers[0].DNSName' --output text)

cat <<MSG

berth server is up at $ENDPOINT (pid $SERVER_PID, data in $DATA_DIR, log in $DATA_DIR/server.log)

Sample task $TASK exited with code $EXIT; its output:
  $(cat "$DATA_DIR/tasks/${TASK##*/}/hello/stdout")

Sample service berth-web (2 tasks) behind load balancer berth-demo ($DNS):
  $URL   ->  $(curl -s "$URL")

Point the aws CLI at it:
  export AWS_SHARED_CREDENTIALS_FILE=$DATA_DIR/credentials AWS_DEFAULT_REGION=us-east-1
  export AWS_ENDPOINT_URL=$ENDPOINT        # aws CLI >= 2.13 and v1; older: --endpoint-url $ENDPOINT
  aws ecs list-task-definitions
  aws ecs run-task --task-definition berth-hello
  aws ecs describe-services --services berth-web --query 'services[0].events[0:5]'

MSG
if [ "${1:-}" = "--detach" ]; then
  echo "(detached: stop it with: kill $SERVER_PID)"
  exit 0
fi
echo "Ctrl-C stops the server."
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; exit 0' INT TERM
wait "$SERVER_PID"
