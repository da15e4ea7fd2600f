#!/usr/bin/env python3
"""Renders ops/deploy/k8s (the kustomization) as one YAML that `podman kube play` (Debian 12's
podman 4.3.1) plays, changing only what podman cannot play, and says each change on stderr:

    kube-for-podman.py K8S_DIR KEYS_DIR --volume CLAIM=HOST_DIR... --secrets DIR > kube.yaml

What podman 4.3.1 plays as it is: Pods, Deployments (one pod per replica, named
DEPLOYMENT-pod-N), ConfigMaps (envFrom and volumes), emptyDir and hostPath volumes, the
securityContext fields used here. What it does not, and what this script does instead:
  - Namespace, Service, HorizontalPodAutoscaler: no such thing in podman; left out. A Service's
    name still resolves, because the pod it selects is given that name on a network with DNS.
  - Job: ignored by `podman kube play`; each Job becomes a Pod (its template; restartPolicy
    Never) named after the Service that selects it. backoffLimit / podFailurePolicy are lost.
  - PersistentVolumeClaim volumes: bound to host folders (--volume CLAIM=DIR).
  - Secret volumes: podman 4.3.1 panics on them (nil pointer in kube.VolumeFromSecret); the
    kustomization's generated Secrets become host folders under --secrets, one per Secret,
    its files owned by root and the pod's fsGroup with the Secret's defaultMode (as Kubernetes
    mounts them), bound as hostPath volumes.
  - $(VAR) in args: podman 4.3.1 passes them literally; they are expanded here from the
    container's env and envFrom ConfigMaps, as Kubernetes does.
  - containerPort: podman 4.3.1 publishes each one on the host (hostPort = containerPort), so
    every pod's metrics port 9100 collides; the ports lists are left out (pods on the same
    network reach each other's ports without them).
  - kustomize's generator name suffixes (content hashes) are not added.
"""
import argparse
import os
import re
import sys
from pathlib import Path

import yaml

DROPPED = {"Namespace": "podman has no namespaces",
           "Service": "podman has no Services (the selected pod is named after it instead)",
           "HorizontalPodAutoscaler": "podman does not autoscale",
           "PersistentVolumeClaim": "bound to a host folder instead"}


def note(msg):
    print(f"kube-for-podman: {msg}", file=sys.stderr)


def load_kustomization(k8s_dir):
    kust = yaml.safe_load((k8s_dir / "kustomization.yaml").read_text())
    objects = []
    for res in kust.get("resources", []):
        objects += [d for d in yaml.safe_load_all((k8s_dir / res).read_text()) if d]
    return kust, objects


def generated(kust, keys_dir):
    """The generators' ConfigMaps (as objects) and Secrets (name → {file name: path})."""
    def files(gen):
        return {Path(f).name: keys_dir / Path(f).relative_to("keys") for f in gen["files"]}
    configmaps = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": g["name"]},
                   "data": {name: path.read_text() for name, path in files(g).items()}}
                  for g in kust.get("configMapGenerator", [])]
    secrets = {g["name"]: files(g) for g in kust.get("secretGenerator", [])}
    return configmaps, secrets


def service_names(objects):
    """(selector labels, service name) of every Service."""
    return [(o["spec"]["selector"], o["metadata"]["name"]) for o in objects if o["kind"] == "Service"]


def job_as_pod(job, services):
    template = job["spec"]["template"]
    labels = template["metadata"].get("labels", {})
    name = next((n for sel, n in services if all(labels.get(k) == v for k, v in sel.items())), job["metadata"]["name"])
    note(f"Job {job['metadata']['name']} → Pod {name} (podman 4.3 does not play Jobs; backoffLimit and podFailurePolicy are lost)")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels,
            "annotations": template["metadata"].get("annotations", {})}, "spec": template["spec"]}


def write_secret(name, files, mode, group, secrets_dir):
    folder = secrets_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for fname, src in files.items():
        dst = folder / fname
        dst.write_bytes(src.read_bytes())
        os.chown(dst, 0, group)
        os.chmod(dst, mode)
    return str(folder)


def rewrite_volumes(spec, where, claims, secrets, secrets_dir):
    group = (spec.get("securityContext") or {}).get("fsGroup", 0)
    for v in spec.get("volumes") or []:
        if "persistentVolumeClaim" in v:
            claim = v.pop("persistentVolumeClaim")["claimName"]
            if claim not in claims:
                sys.exit(f"kube-for-podman: {where} mounts the claim {claim}: give --volume {claim}=HOST_DIR")
            v["hostPath"] = {"path": claims[claim], "type": "Directory"}
            note(f"{where}: volume {v['name']} (claim {claim}) → host folder {claims[claim]}")
        elif "secret" in v:
            src = v.pop("secret")
            mode = src.get("defaultMode", 0o644)
            path = write_secret(src["secretName"], secrets[src["secretName"]], mode, group, secrets_dir)
            v["hostPath"] = {"path": path, "type": "Directory"}
            note(f"{where}: volume {v['name']} (Secret {src['secretName']}) → host folder {path}, files mode {mode:o}, group {group} "
                 "(podman 4.3.1 panics on secret volumes)")


def drop_ports(spec, where):
    for c in spec["containers"]:
        if c.pop("ports", None):
            note(f"{where}: {c['name']}'s ports left out (podman 4.3.1 would publish them on the host)")


def expand_args(spec, where, configmaps):
    by_name = {c["metadata"]["name"]: c.get("data", {}) for c in configmaps}
    for c in spec["containers"]:
        env = {}
        for ref in c.get("envFrom") or []:
            env.update(by_name[ref["configMapRef"]["name"]])
        env.update({e["name"]: e["value"] for e in c.get("env") or [] if "value" in e})
        for key in ("command", "args"):
            if key in c:
                new = [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), a) for a in c[key]]
                if new != c[key]:
                    note(f"{where}: $(VAR) in {c['name']}'s {key} expanded from its env (podman 4.3.1 does not)")
                c[key] = new


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("k8s_dir", type=Path)
    ap.add_argument("keys_dir", type=Path)
    ap.add_argument("--volume", action="append", default=[], metavar="CLAIM=DIR")
    ap.add_argument("--secrets", type=Path, required=True, metavar="DIR")
    a = ap.parse_args()
    claims = dict(v.split("=", 1) for v in a.volume)
    kust, objects = load_kustomization(a.k8s_dir)
    configmaps, secrets = generated(kust, a.keys_dir)
    configmaps += [o for o in objects if o["kind"] == "ConfigMap"]
    services = service_names(objects)
    out = list(configmaps)
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind in DROPPED:
            note(f"{kind} {name} left out: {DROPPED[kind]}")
            continue
        if kind == "ConfigMap":
            continue
        if kind == "Job":
            o = job_as_pod(o, services)
        if kind not in ("Job", "Deployment", "Pod"):
            sys.exit(f"kube-for-podman: {kind} {name}: no rule for this kind (add one)")
        spec = o["spec"] if o["kind"] == "Pod" else o["spec"]["template"]["spec"]
        where = f"{o['kind']} {o['metadata']['name']}"
        rewrite_volumes(spec, where, claims, secrets, a.secrets)
        expand_args(spec, where, configmaps)
        drop_ports(spec, where)
        out.append(o)
    for o in out:
        o["metadata"].pop("namespace", None)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
