#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks deploy/kubernetes/ without a cluster.

kubectl cannot validate offline (`apply --dry-run=client` still asks the API server for
its resource types), so this does what it would, and more:
  - schema: every object of a built-in kind is checked field by field against the API
    models of Debian's python3-kubernetes (the Kubernetes API as its client library
    describes it): unknown fields (a typo is silently dropped by the API server), wrong
    types, missing required fields. The PodMonitor (a CRD) against the fields this file
    knows of the Prometheus Operator's monitoring.coreos.com/v1;
  - consistency: selectors select the pods, ports and probes name declared ports, the
    configuration is mounted where --config reads it and listens on the container port,
    the PodMonitor gives the labels the alerts need and the scrape config's sample limit;
  - privilege: not privileged, every capability dropped but BPF and PERFMON (counting)
    and SYS_PTRACE and DAC_READ_SEARCH (reading what the binaries section judges), no
    privilege escalation, read-only root, the host's PID namespace (PID 1 is the host's
    view) and no other host namespace;
  - resources: requests and limits derived from the measured series budget
    (deploy/budget.json): the memory request at least the peak RSS at the default 1,000
    names and below the idle RSS at the largest configuration, the limit at least 1.5
    and at most 2.5 times the largest peak.
Prints PASS/FAIL lines; exits 1 if anything failed.

Usage: check-kubernetes.py DEPLOY_DIR
"""

import json
import os
import re
import sys

import yaml
from kubernetes import client

DEPLOY = sys.argv[1]
K8S = os.path.join(DEPLOY, "kubernetes")
# The measured series budget (tests/benchmark/scrape-load.py --budget): RSS idle and at
# its peak during scrapes, per number of names and labels.
BUDGET = json.load(open(os.path.join(DEPLOY, "budget.json")))["configurations"]
DEFAULT_PEAK_MIB = next(c["peak_rss_mib"] for c in BUDGET
                        if c["names"] == 1000 and c["labels"] == ["comm"])
LARGEST_PEAK_MIB = max(c["peak_rss_mib"] for c in BUDGET)
LARGEST_IDLE_MIB = max(c["idle_rss_mib"] for c in BUDGET)
ALLOWED_CAPABILITIES = {"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH"}

failures = []


def check(name, problems):
    if problems:
        print(f"FAIL: {name}")
        for p in problems:
            print(f"    {p}")
        failures.append(name)
    else:
        print(f"PASS: {name}")


# --- Schema -----------------------------------------------------------------------------

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def validate(value, type_name, path, problems):
    """Checks VALUE against the python3-kubernetes model type TYPE_NAME."""
    if value is None:
        return
    if type_name in PRIMITIVES:
        expected = PRIMITIVES[type_name]
        if isinstance(value, bool) and type_name != "bool":
            problems.append(f"{path}: expected {type_name}, got a boolean")
        elif not isinstance(value, expected):
            problems.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    if type_name in ("object", "datetime"):  # IntOrString, Quantity, free-form
        return
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            validate(item, m.group(1), f"{path}[{i}]", problems)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map")
            return
        for k, v in value.items():
            validate(v, m.group(1), f"{path}.{k}", problems)
        return
    model = getattr(client, type_name)
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a {type_name} object")
        return
    fields = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{path}.{key}: no such field in {type_name}")
            continue
        validate(item, model.openapi_types[fields[key]], f"{path}.{key}", problems)
    # The models raise ValueError for a required field left out.
    try:
        client.ApiClient()._ApiClient__deserialize(value, type_name)
    except (ValueError, TypeError) as e:
        problems.append(f"{path}: {e}")


def model_of(doc):
    group_version = doc["apiVersion"]
    version = group_version.split("/")[-1]
    name = version.capitalize() + doc["kind"]
    return name if hasattr(client, name) else None


# The PodMonitor fields of monitoring.coreos.com/v1 that these manifests may use.
PODMONITOR_FIELDS = {
    "spec": {"selector", "namespaceSelector", "podMetricsEndpoints", "sampleLimit", "jobLabel",
             "podTargetLabels", "targetLimit", "labelLimit"},
    "endpoint": {"port", "path", "interval", "scrapeTimeout", "scheme", "relabelings",
                 "metricRelabelings", "honorLabels", "honorTimestamps"},
    "relabeling": {"sourceLabels", "separator", "targetLabel", "regex", "modulus",
                   "replacement", "action"},
}


def validate_podmonitor(doc, problems):
    spec = doc.get("spec", {})
    for key in spec:
        if key not in PODMONITOR_FIELDS["spec"]:
            problems.append(f"PodMonitor.spec.{key}: not a PodMonitor field")
    validate(spec.get("selector"), "V1LabelSelector", "PodMonitor.spec.selector", problems)
    endpoints = spec.get("podMetricsEndpoints") or []
    if not endpoints:
        problems.append("PodMonitor.spec.podMetricsEndpoints: empty")
    for i, ep in enumerate(endpoints):
        for key in ep:
            if key not in PODMONITOR_FIELDS["endpoint"]:
                problems.append(f"PodMonitor endpoint {i}: {key} is not a field")
        for j, r in enumerate(ep.get("relabelings", []) + ep.get("metricRelabelings", [])):
            for key in r:
                if key not in PODMONITOR_FIELDS["relabeling"]:
                    problems.append(f"PodMonitor endpoint {i} relabeling {j}: {key} is not a field")
    if not isinstance(spec.get("sampleLimit"), int):
        problems.append("PodMonitor.spec.sampleLimit: not set")


# --- Load -------------------------------------------------------------------------------

kustomization = yaml.safe_load(open(os.path.join(K8S, "kustomization.yaml")))
objects = {}
load_problems = []
for resource in kustomization["resources"]:
    for doc in yaml.safe_load_all(open(os.path.join(K8S, resource))):
        if not doc:
            continue
        key = (doc.get("kind"), doc.get("metadata", {}).get("name"))
        if key in objects:
            load_problems.append(f"{resource}: {key} defined twice")
        objects[key] = doc
        if doc.get("metadata", {}).get("namespace", kustomization["namespace"]) != kustomization["namespace"] \
                and doc["kind"] != "Namespace":
            load_problems.append(f"{resource}: {key} not in namespace {kustomization['namespace']}")
check("kustomization.yaml: every resource parses, each object once, one namespace", load_problems)

schema_problems = []
for (kind, name), doc in objects.items():
    if kind == "PodMonitor":
        validate_podmonitor(doc, schema_problems)
        continue
    model = model_of(doc)
    if model is None:
        schema_problems.append(f"{kind}/{name}: no API model for {doc['apiVersion']} {kind}")
        continue
    validate(doc, model, f"{kind}/{name}", schema_problems)
check("every object matches the Kubernetes API schema (python3-kubernetes models): no unknown, "
      "mistyped or missing field", schema_problems)

# --- Consistency ------------------------------------------------------------------------

ds = objects[("DaemonSet", "execmond")]
pod = ds["spec"]["template"]
pod_labels = pod["metadata"]["labels"]
pod_spec = pod["spec"]
container = pod_spec["containers"][0]
ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


p = []
if not selects(ds["spec"].get("selector", {}), pod_labels):
    p.append("the DaemonSet's selector does not select its pod template")
svc = objects[("Service", "execmond")]
if not all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()):
    p.append("the Service does not select the pods")
for sp in svc["spec"]["ports"]:
    if sp["targetPort"] not in ports:
        p.append(f"the Service targets port {sp['targetPort']!r}, which the container does not declare")
pm = objects[("PodMonitor", "execmond")]
if not selects(pm["spec"]["selector"], pod_labels):
    p.append("the PodMonitor does not select the pods")
for ep in pm["spec"]["podMetricsEndpoints"]:
    if ep["port"] not in ports:
        p.append(f"the PodMonitor scrapes port {ep['port']!r}, which the container does not declare")
    relabel = {(r.get("targetLabel"), r.get("replacement"), tuple(r.get("sourceLabels", [])))
               for r in ep.get("relabelings", [])}
    if ("job", "execmond", ()) not in relabel:
        p.append('the PodMonitor does not set job="execmond" (the alerts select it)')
    if ("instance", None, ("__meta_kubernetes_pod_node_name",)) not in relabel:
        p.append("the PodMonitor does not set instance to the node's name")
scrape = yaml.safe_load(open(os.path.join(DEPLOY, "prometheus", "scrape-config.yml")))
limit = scrape["scrape_configs"][0]["sample_limit"]
if pm["spec"]["sampleLimit"] != limit:
    p.append(f"PodMonitor sampleLimit {pm['spec']['sampleLimit']} != scrape-config.yml sample_limit {limit}")
if serviceaccount := objects.get(("ServiceAccount", pod_spec.get("serviceAccountName"))):
    if serviceaccount.get("automountServiceAccountToken") is not False:
        p.append("the ServiceAccount mounts an API token execmond never uses")
else:
    p.append(f"no ServiceAccount {pod_spec.get('serviceAccountName')!r}")
image_names = {i["name"] for i in kustomization.get("images", [])}
if container["image"].split(":")[0] not in image_names:
    p.append(f"kustomization.yaml does not set the image {container['image']!r}")
check("selectors, ports, the PodMonitor's labels and sample limit, the ServiceAccount and image agree", p)

p = []
for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
    probe = container.get(probe_name)
    if not probe:
        p.append(f"no {probe_name}")
        continue
    get = probe.get("httpGet", {})
    if get.get("path") != "/metrics" or get.get("port") not in ports:
        p.append(f"{probe_name} does not GET /metrics on a declared port")
check("startup, readiness and liveness probes GET /metrics on the metrics port", p)

p = []
args = container.get("args", [])
config_path = args[args.index("--config") + 1] if "--config" in args else None
config_text = None
if not config_path:
    p.append("the container does not pass --config")
else:
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    mount = mounts.get(os.path.dirname(config_path))
    volume = next((v for v in pod_spec.get("volumes", []) if mount and v["name"] == mount["name"]), None)
    if not volume or "configMap" not in volume:
        p.append(f"no ConfigMap is mounted at {os.path.dirname(config_path)}")
    else:
        cm = objects.get(("ConfigMap", volume["configMap"]["name"]))
        config_text = (cm or {}).get("data", {}).get(os.path.basename(config_path))
        if config_text is None:
            p.append(f"ConfigMap {volume['configMap']['name']} has no key {os.path.basename(config_path)}")
if config_text is not None:
    listen = yaml.safe_load(config_text).get("listen", "0.0.0.0:9717")
    host, _, port = listen.rpartition(":")
    if int(port) not in ports.values():
        p.append(f"the configuration listens on {listen}, the container declares {sorted(ports.values())}")
    if host not in ("", "0.0.0.0", "[::]"):
        p.append(f"the configuration listens on {listen}: the kubelet and Prometheus reach the pod IP")
check("the ConfigMap is mounted where --config reads it and listens on the container port", p)

binary = os.environ.get("EXECMOND_BINARY")
if config_text is not None and binary:
    import subprocess
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(config_text)
        f.flush()
        r = subprocess.run([binary, "--check-config", "--config", f.name],
                           capture_output=True, text=True)
    check("the ConfigMap's configuration passes execmond --check-config",
          [] if r.returncode == 0 else [r.stderr.strip() or f"exit {r.returncode}"])
elif os.environ.get("CI") == "true":
    check("execmond --check-config on the ConfigMap (EXECMOND_BINARY not set)", ["not run"])

p = []
sc = container.get("securityContext", {})
if sc.get("privileged"):
    p.append("privileged: true")
if sc.get("allowPrivilegeEscalation") is not False:
    p.append("allowPrivilegeEscalation is not false")
if sc.get("readOnlyRootFilesystem") is not True:
    p.append("readOnlyRootFilesystem is not true")
caps = sc.get("capabilities", {})
if caps.get("drop") != ["ALL"]:
    p.append(f"capabilities.drop is {caps.get('drop')}, expected [ALL]")
if set(caps.get("add", [])) - ALLOWED_CAPABILITIES:
    p.append(f"capabilities beyond {sorted(ALLOWED_CAPABILITIES)}: {caps.get('add')}")
for host_ns in ("hostNetwork", "hostIPC"):
    if pod_spec.get(host_ns):
        p.append(f"{host_ns}: true (only the host's PID namespace is needed)")
if pod_spec.get("hostPID") is not True:
    p.append("hostPID is not true: the binaries section judges files as PID 1 of the node sees them")
for v in pod_spec.get("volumes", []):
    if "hostPath" in v and v["hostPath"]["path"] != "/sys/kernel/tracing":
        p.append(f"hostPath {v['hostPath']['path']}: only tracefs is needed")
for m in container.get("volumeMounts", []):
    if not m.get("readOnly"):
        p.append(f"volume mount {m['mountPath']} is writable")
ns = objects.get(("Namespace", kustomization["namespace"]), {})
if ns.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") != "privileged":
    p.append("the namespace's Pod Security level would refuse the pods (BPF/PERFMON, hostPath)")
check("least privilege: CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH only, not "
      "privileged, no escalation, read-only root and mounts, the host's PID namespace only", p)


def mebibytes(quantity):
    m = re.fullmatch(r"(\d+)(Mi|Gi)", str(quantity))
    if not m:
        return None
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


def millicores(quantity):
    q = str(quantity)
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


p = []
res = container.get("resources", {})
req, lim = res.get("requests", {}), res.get("limits", {})
for what in ("cpu", "memory"):
    if what not in req or what not in lim:
        p.append(f"no {what} request and limit")
if not p:
    if mebibytes(req["memory"]) is None or mebibytes(lim["memory"]) is None:
        p.append("memory quantities are not in Mi or Gi")
    else:
        if mebibytes(req["memory"]) < DEFAULT_PEAK_MIB:
            p.append(f"memory request {req['memory']} is below the peak at the default 1,000 "
                     f"names, {DEFAULT_PEAK_MIB} MiB")
        if mebibytes(req["memory"]) >= LARGEST_IDLE_MIB:
            p.append(f"memory request {req['memory']} reserves what only the largest "
                     f"configuration uses idle ({LARGEST_IDLE_MIB} MiB)")
        if mebibytes(lim["memory"]) < 1.5 * LARGEST_PEAK_MIB:
            p.append(f"memory limit {lim['memory']} is less than 1.5x the largest peak, "
                     f"{LARGEST_PEAK_MIB} MiB")
        if mebibytes(lim["memory"]) > 2.5 * LARGEST_PEAK_MIB:
            p.append(f"memory limit {lim['memory']} is over 2.5x the largest peak: not derived "
                     "from the budget")
    if millicores(lim["cpu"]) < millicores(req["cpu"]):
        p.append("cpu limit below the request")
check(f"resources: requests and limits set, memory from the measured budget (peak {DEFAULT_PEAK_MIB} "
      f"MiB at 1,000 names, {LARGEST_PEAK_MIB} MiB at the largest)", p)

print(f"check-kubernetes: {len(failures)} failed")
sys.exit(1 if failures else 0)
