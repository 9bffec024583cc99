#!/usr/bin/env bash
# Checks everything under deploy/ with the tool that reads it:
#   - promtool check config: the scrape config, the rule file it lists, the file_sd targets;
#   - promtool check rules + promtool test rules: the alert rules and their unit tests;
#   - the Grafana dashboard: valid JSON, datasource and host variables, unique panel ids,
#     every query parses as PromQL (promtool) once Grafana's variables are filled in;
#   - every metric the rules and the dashboard use is one execmond serves (the contract);
#   - ansible-playbook --syntax-check on the playbook, when ansible-core is installed;
#   - the Kubernetes manifests, offline (check-kubernetes.py: the API schema of
#     python3-kubernetes, consistency, least privilege, resources), and the ConfigMap's
#     configuration with `execmond --check-config` when EXECMOND_BINARY names the binary.
# Needs promtool (Debian package prometheus) and python3 with PyYAML (python3-yaml).
# Exits non-zero on any failure.
#
# Usage: [EXECMOND_BINARY=build/daemon/execmond] tests/deploy/check-deploy.sh
set -uo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy" && pwd)"
readonly DEPLOY
PASSED=0
FAILED=0
SKIPPED=0
SCRATCH=$(mktemp -d)
readonly SCRATCH
trap 'rm -rf "$SCRATCH"' EXIT

# Runs a check, shows its output only when it fails.
check() {
  local name=$1
  shift
  if "$@" >"$SCRATCH/out" 2>&1; then
    PASSED=$((PASSED + 1))
    printf 'PASS: %s\n' "$name"
  else
    FAILED=$((FAILED + 1))
    printf 'FAIL: %s\n' "$name"
    sed 's/^/    /' "$SCRATCH/out"
  fi
}

skip() {
  SKIPPED=$((SKIPPED + 1))
  printf 'SKIP: %s\n' "$*"
}

command -v promtool >/dev/null || {
  echo "check-deploy: promtool not found: apt-get install prometheus" >&2
  exit 2
}
python3 -c 'import yaml' 2>/dev/null || {
  echo "check-deploy: python3 with PyYAML not found: apt-get install python3-yaml" >&2
  exit 2
}

# The metric names execmond serves (the contract), the ones Prometheus adds, and the
# histogram's series. A rule or panel that names anything else is a typo or drift.
cat >"$SCRATCH/known-metrics" <<'EOF'
execmond_execs_total
execmond_exits_total
execmond_exits_nonzero_total
execmond_exits_signaled_total
execmond_process_duration_seconds_bucket
execmond_process_duration_seconds_sum
execmond_process_duration_seconds_count
execmond_exec_failures_total
execmond_events_lost_total
execmond_comm_series
execmond_comm_series_limit
execmond_comm_overflow_events_total
execmond_build_info
up
scrape_duration_seconds
EOF

# Writes the dashboard's queries, Grafana variables filled in, as recording rules to
# $SCRATCH/dashboard-rules.yml (so promtool parses them), after checking its structure.
dashboard_to_rules() {
  python3 - "$DEPLOY/grafana/execmond-dashboard.json" "$SCRATCH/dashboard-rules.yml" <<'EOF'
import json, sys

dashboard = json.load(open(sys.argv[1]))
errors = []
variables = {v["name"]: v for v in dashboard["templating"]["list"]}
if variables.get("datasource", {}).get("type") != "datasource":
    errors.append("no datasource variable")
if "instance" not in variables:
    errors.append("no instance variable")

def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))

ids, exprs = set(), []
for p in panels(dashboard["panels"]):
    if p["id"] in ids:
        errors.append(f"panel id {p['id']} used twice")
    ids.add(p["id"])
    if p["type"] == "row":
        continue
    for t in [p] + p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "${datasource}":
            errors.append(f"panel {p['title']!r}: datasource is not ${{datasource}}")
    if not p.get("targets"):
        errors.append(f"panel {p['title']!r} has no query")
    exprs += [(p["title"], t["expr"]) for t in p.get("targets", [])]

fill = {"$__rate_interval": "2m", "$__range": "6h", "$topk": "10",
        "$job": "execmond", "$instance": ".*", "$comm": ".*"}
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, expr) in enumerate(exprs):
        for k, v in fill.items():
            expr = expr.replace(k, v)
        if "$" in expr:
            errors.append(f"panel {title!r}: unknown variable in {expr}")
        out.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

# Metric names used in the expressions of rule files: every identifier left once
# strings, label matchers, ranges, durations, numbers, grouping clauses, functions and
# keywords are taken out. Recording rules (names with a colon) are the file's own.
unknown_metrics() {
  python3 - "$SCRATCH/known-metrics" "$@" <<'EOF'
import re, sys
import yaml

known = set(open(sys.argv[1]).read().split())
words = set("""sum min max avg count stddev stdvar topk bottomk quantile count_values group
and or unless offset bool rate irate increase delta idelta deriv histogram_quantile
label_replace label_join absent absent_over_time vector scalar time changes resets
last_over_time max_over_time min_over_time avg_over_time sum_over_time count_over_time
clamp_min clamp_max abs ceil floor round sort sort_desc predict_linear timestamp
Inf NaN""".split())
bad = set()
for path in sys.argv[2:]:
    for group in yaml.safe_load(open(path))["groups"]:
        for rule in group["rules"]:
            expr = rule["expr"]
            expr = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)
            expr = re.sub(r"\{[^}]*\}", "{}", expr)
            expr = re.sub(r"\[[^\]]*\]", "[]", expr)
            expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
            expr = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?(ms|[smhdwy])?\b", "", expr)
            for name in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
                if name not in words and name not in known and ":" not in name:
                    bad.add(f"{path}: {name}")
for b in sorted(bad):
    print("not a metric execmond serves:", b)
sys.exit(1 if bad else 0)
EOF
}

cd "$DEPLOY/prometheus" || exit 2
check "promtool check config prometheus/scrape-config.yml (with its rule and file_sd files)" \
  promtool check config scrape-config.yml
check "promtool check rules prometheus/execmond-alerts.yml" \
  promtool check rules execmond-alerts.yml
check "promtool test rules prometheus/execmond-alerts.test.yml" \
  promtool test rules execmond-alerts.test.yml
check "the alert rules use only metrics execmond serves" \
  unknown_metrics execmond-alerts.yml

check "grafana/execmond-dashboard.json is valid JSON" \
  python3 -m json.tool "$DEPLOY/grafana/execmond-dashboard.json"
check "the dashboard has its variables, unique panel ids and a datasource variable everywhere" \
  dashboard_to_rules
check "every dashboard query parses as PromQL" \
  promtool check rules "$SCRATCH/dashboard-rules.yml"
check "the dashboard uses only metrics execmond serves" \
  unknown_metrics "$SCRATCH/dashboard-rules.yml"

if command -v ansible-playbook >/dev/null; then
  cd "$DEPLOY/ansible" || exit 2
  check "ansible-playbook --syntax-check ansible/site.yml" \
    env ANSIBLE_NOCOLOR=1 ansible-playbook --syntax-check -i inventory.example.ini site.yml
elif [ "${CI:-}" = true ]; then
  check "ansible-playbook is installed (apt-get install ansible-core)" false
else
  skip "ansible-playbook not installed (apt-get install ansible-core): playbook syntax not checked"
fi

# Debian's python3-kubernetes is installed for the system Python.
if /usr/bin/python3 -c 'import kubernetes' 2>/dev/null; then
  check "kubernetes/: API schema, selectors and ports, least privilege, resources, the ConfigMap" \
    /usr/bin/python3 "$(dirname "$DEPLOY")/tests/deploy/check-kubernetes.py" "$DEPLOY"
elif [ "${CI:-}" = true ]; then
  check "python3-kubernetes is installed (apt-get install python3-kubernetes)" false
else
  skip "python3-kubernetes not installed (apt-get install python3-kubernetes): manifests not checked"
fi

if ((SKIPPED)); then
  printf 'check-deploy: %d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
else
  printf 'check-deploy: %d passed, %d failed\n' "$PASSED" "$FAILED"
fi
((FAILED == 0))
