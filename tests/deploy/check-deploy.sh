#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks everything under deploy/ with the tool that reads it:
#   - promtool check config: the scrape config, the rule file it lists, the file_sd targets;
#   - promtool check rules + promtool test rules: the alert rules and their unit tests;
#   - the Grafana dashboard: valid JSON, datasource and host variables, unique panel ids,
#     every query parses as PromQL (promtool) once Grafana's variables are filled in;
#   - every metric the rules and the dashboard use is one execmond serves (the contract);
#   - the measured series budget (deploy/budget.json): the README's table says the same,
#     and sample_limit is derived from it;
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
if [[ -n ${EXECMOND_BINARY:-} ]]; then EXECMOND_BINARY=$(readlink -f "$EXECMOND_BINARY"); export EXECMOND_BINARY; fi
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
execmond_process_duration_seconds
execmond_process_duration_seconds_bucket
execmond_process_duration_seconds_sum
execmond_process_duration_seconds_count
execmond_exec_failures_total
execmond_events_lost_total
execmond_bpf_stats_enabled
execmond_comm_series
execmond_comm_series_limit
execmond_comm_overflow_events_total
execmond_comm_series_expired_total
execmond_build_info
execmond_unexpected_execs_total
execmond_unexpected_series
execmond_unexpected_series_limit
execmond_unexpected_overflow_execs_total
execmond_unexpected_exec_logs_suppressed_total
execmond_config_last_reload_successful
execmond_config_last_reload_success_timestamp_seconds
execmond_http_connections
execmond_http_connections_limit
execmond_http_tls_certificate_expiry_timestamp_seconds
execmond_http_connections_dropped_total
execmond_http_responses_total
execmond_http_renders_total
execmond_cgroup_walks_total
execmond_cgroup_directories_read_total
execmond_cgroups_cached
execmond_cgroup_unresolved_events_total
execmond_bpf_program_run_seconds_total
execmond_bpf_program_runs_total
process_cpu_seconds_total
process_resident_memory_bytes
process_virtual_memory_bytes
process_open_fds
process_max_fds
process_start_time_seconds
up
scrape_samples_post_metric_relabeling
scrape_duration_seconds
EOF

# The fleet-scale review's findings, each as a rule on the files (the rule tests in
# execmond-alerts.test.yml prove the alerts' behaviour):
#   - scrape-config.yml has no global: block, and its sample_limit admits the measured
#     series per name (deploy/budget.json) plus 3 for signals and errnos at the largest
#     max_comm_series execmond accepts, and no more than 1.5 times that;
#   - ExecmondNearSampleLimit warns at 80 % of that sample_limit;
#   - every alert has a runbook_url whose anchor is a heading of RUNBOOK.md, and every
#     alert on increase() a for:;
#   - no aggregation in an alert drops job (by (...) must keep it);
#   - no annotation puts a label value in a `code span`, i.e. a command to paste;
#   - ExecmondDown is not critical and waits 10 minutes or more.
fleet_review() {
  python3 - "$DEPLOY" "$(dirname "$DEPLOY")/config/execmond.yaml" <<'PY'
import re, sys
import yaml

deploy, config = sys.argv[1], sys.argv[2]
errors = []
scrape = yaml.safe_load(open(f"{deploy}/prometheus/scrape-config.yml"))
if "global" in scrape:
    errors.append("scrape-config.yml has a global: block: merging it overrides the user's")
# The bound stated in the comment above max_comm_series ("..., 1 to 10000. ...").
m = re.search(r"1 to (\d+)\.[^\n]*\n(?:#[^\n]*\n)*max_comm_series:", open(config).read())
max_names = int(m.group(1)) if m else None
job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "execmond")
limit = job.get("sample_limit", 0)
import json
budget = json.load(open(f"{deploy}/budget.json"))["configurations"]
per_name = max(c["series_per_name"]["classic"] for c in budget) + 3  # + signals, errnos
if not max_names or limit < per_name * max_names:
    errors.append(f"sample_limit {limit} < {per_name} series x {max_names} names "
                  "(measured per name + 3, at the largest max_comm_series)")
elif limit > 1.5 * per_name * max_names:
    errors.append(f"sample_limit {limit} > 1.5 x {per_name} x {max_names}: a runaway "
                  "response would get through")
for key in ("scrape_interval", "scrape_timeout"):
    if key not in job:
        errors.append(f"the execmond job does not set its own {key}")

anchors = {re.sub(r"[^a-z0-9-]", "", h.strip().lower().replace(" ", "-"))
           for h in re.findall(r"^#+ (.+)$", open(f"{deploy}/RUNBOOK.md").read(), re.M)}
for group in yaml.safe_load(open(f"{deploy}/prometheus/execmond-alerts.yml"))["groups"]:
    for rule in group["rules"]:
        if "alert" not in rule:
            continue
        name, expr = rule["alert"], rule["expr"]
        ann = rule.get("annotations", {})
        url = ann.get("runbook_url", "")
        if "#" not in url or url.split("#", 1)[1] not in anchors:
            errors.append(f"{name}: runbook_url {url!r} has no matching heading in RUNBOOK.md")
        if "increase(" in expr and not rule.get("for"):
            errors.append(f"{name}: an increase() rule without for:")
        for clause in re.findall(r"\bby\s*\(([^)]*)\)", expr):
            if "job" not in [c.strip() for c in clause.split(",")]:
                errors.append(f"{name}: by ({clause}) drops job and the target labels")
        for key, text in ann.items():
            for span in re.findall(r"`[^`]*`", text):
                if "$labels" in span or "$value" in span:
                    errors.append(f"{name}: {key} puts a label value in a command: {span}")
        if name == "ExecmondDown":
            minutes = int(re.fullmatch(r"(\d+)m", rule.get("for", "0m")).group(1))
            if rule["labels"].get("severity") == "critical" or minutes < 10:
                errors.append("ExecmondDown pages per host or fires within a reboot")
        if name == "ExecmondNearSampleLimit":
            threshold = float(expr.rsplit(">", 1)[1])
            if threshold != 0.8 * limit:
                errors.append(f"ExecmondNearSampleLimit at {threshold}, not 80% of sample_limit {limit}")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
}

# The README's "Series budget" table holds the figures of deploy/budget.json, row by row.
readme_budget_matches() {
  python3 - "$DEPLOY/budget.json" "$(dirname "$DEPLOY")/README.md" <<'PY'
import json, re, sys
budget = json.load(open(sys.argv[1]))["configurations"]
rows = [line for line in open(sys.argv[2]) if re.match(r"^\| `\[comm", line)]
errors = []
if len(rows) != len(budget):
    errors.append(f"README has {len(rows)} budget rows, budget.json {len(budget)}")
for row, c in zip(rows, budget):
    cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", " ".join(cells[1:]).replace(",", ""))]
    s = c["series_per_name"]
    expected = [c["names"], s["classic"], s["lifetime_histogram_false"], s["native"],
                c["idle_rss_mib"], c["peak_rss_mib"], round(c["peak_rss_mib"] / c["idle_rss_mib"], 2),
                c["scrape_mb"]["text"], c["scrape_mb"]["text_gzip"], c["scrape_mb"]["protobuf_gzip"]]
    if cells[0] != "`[" + ", ".join(c["labels"]) + "]`" or numbers != expected:
        errors.append(f"README row {row.strip()} != budget.json {expected}")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
}

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
        "$job": "execmond", "$instance": ".*", "$comm": ".*", "$unit": ".*"}
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

# The dashboard's "Most executed names" query, evaluated by promtool on made-up series:
# a name that ran once in the range (its series appeared at 1) must show with 1, next
# to a busy name that ran all along and one that ran only before the range.
most_executed_shows_single_runs() {
  python3 - "$DEPLOY/grafana/execmond-dashboard.json" "$SCRATCH" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))
panel = next(p for p in panels(dashboard["panels"]) if p["title"].startswith("Most executed names"))
expr = panel["targets"][0]["expr"]
for k, v in {"$__range": "1h", "$job": "execmond", "$instance": ".*", "$comm": ".*"}.items():
    expr = expr.replace(k, v)
with open(f"{sys.argv[2]}/most-executed-rules.yml", "w") as f:
    f.write("groups:\n  - name: t\n    rules:\n      - record: most_executed\n")
    f.write(f"        expr: {json.dumps(expr)}\n")
with open(f"{sys.argv[2]}/most-executed-test.yml", "w") as f:
    f.write("""rule_files: [most-executed-rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'execmond_execs_total{job="execmond", instance="h1", comm="busy"}'
        values: '0+1x120'
      - series: 'execmond_execs_total{job="execmond", instance="h1", comm="once"}'
        values: '_x90 1x30'
      - series: 'execmond_execs_total{job="execmond", instance="h1", comm="old"}'
        values: '5x120'
    promql_expr_test:
      - expr: most_executed
        eval_time: 2h
        exp_samples:
          - labels: 'most_executed{comm="busy"}'
            value: 60
          - labels: 'most_executed{comm="once"}'
            value: 1
          - labels: 'most_executed{comm="old"}'
            value: 0
""")
PY
  (cd "$SCRATCH" && promtool test rules most-executed-test.yml)
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
check "fleet review: no global:, sample_limit from the series budget, runbook_url and for: on every alert, job kept, no label value in a command" \
  fleet_review
check "the README's series budget table is deploy/budget.json" \
  readme_budget_matches
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
check "the dashboard's most executed names include a name that ran once in the range (promtool)" \
  most_executed_shows_single_runs
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
