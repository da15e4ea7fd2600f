#!/usr/bin/env python3
"""Tests of ops/deploy/validate.py: it passes the committed deployment files and fails each
deliberately broken copy with a message naming the fault.

    test_validate.py --mien PATH [--elf PATH]

Each case copies ops/deploy/ to a scratch folder, breaks one thing (a misspelt flag, an image
the Dockerfile does not build, a missing COPY source, an undefined Secret, a port that does not
match, a client given the wrong server key, …) and runs the validator on the copy. One key
layout from make-keys.sh is made once and shared by the cases (--keys-layout). Cases run two at
a time. Exit 1 when any case fails; the last line is "N passed, N failed".
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def replace(rel, old, new):
    def apply(root):
        p = root / rel
        text = p.read_text()
        if old not in text:
            raise AssertionError(f"fixture: {old!r} not in {rel}")
        p.write_text(text.replace(old, new, 1))
    return apply


# (name, breakage, text the validator's report must contain)
CASES = [
    ("compose: misspelt flag", replace("compose.yaml", "--features=tcp://0.0.0.0:5555", "--feature=tcp://0.0.0.0:5555"),
     "has no option --feature "),
    ("compose: boolean flag given a value", replace("compose.yaml", "      - --resume\n", "      - --resume=yes\n"),
     "--resume of `mien aggregator` is a flag and takes no value"),
    ("compose: unknown service key (compose-spec schema)", replace("compose.yaml", "    restart: unless-stopped\n", "    restarts: unless-stopped\n"),
     "compose schema"),
    ("compose: worker given the aggregator's public key", replace("compose.yaml", "--curve-server-key=/etc/mien/public/coordinator.pub", "--curve-server-key=/etc/mien/public/aggregator.pub"),
     "is not the coordinator's public key coordinator.pub"),
    ("compose: coordinator given the aggregator's allow-list", replace("compose.yaml", "./keys/allow-coordinator:/etc/mien/allow:ro", "./keys/allow-aggregator:/etc/mien/allow:ro"),
     "does not hold feature-worker.pub"),
    ("compose: worker connects to a port the coordinator does not bind", replace("compose.yaml", "--coordinator=tcp://coordinator:5555", "--coordinator=tcp://coordinator:5565"),
     "connects to port 5565 of the coordinator"),
    ("Dockerfile: COPY of a missing path", replace("Dockerfile", "COPY models /usr/share/mien/models", "COPY model /usr/share/mien/models"),
     "COPY source model does not exist"),
    ("Dockerfile: COPY source excluded by .dockerignore", replace("Dockerfile.dockerignore", "!models\n", ""),
     "COPY source models is excluded"),
    ("Dockerfile: a runtime library not installed", replace("Dockerfile", "      libdlib19.1 libdlib-data opencv-data \\", "      libdlib-data opencv-data \\"),
     "from Debian package libdlib19.1, which the runtime stage does not install"),
    ("Kubernetes: image the Dockerfile does not build", replace("k8s/feature-worker.yaml", "image: mien:latest", "image: mien:lates"),
     "image 'mien:lates' is not the runtime image"),
    ("Kubernetes: undefined Secret", replace("k8s/coordinator.yaml", "secretName: mien-coordinator-key", "secretName: mien-coordinator-keys"),
     "Secret mien-coordinator-keys is not defined"),
    ("Kubernetes: worker connects to the sequence port", replace("k8s/feature-worker.yaml", "tcp://mien-coordinator:5555", "tcp://mien-coordinator:5556"),
     "does not serve its --features"),
    ("Kubernetes: Service targetPort names no container port", replace("k8s/coordinator.yaml", "targetPort: features", "targetPort: feature"),
     "targetPort feature is not a port"),
    ("Kubernetes: unknown field (strict schema)", replace("k8s/sequence-worker.yaml", "  replicas: 1\n", "  replica: 1\n"),
     "schema"),
    ("Kubernetes: HPA scales a missing Deployment", replace("k8s/autoscaling.yaml", "    name: mien-sequence-worker\n", "    name: mien-sequence-workers\n"),
     "scales Deployment/mien-sequence-workers, which is not defined"),
    ("Kubernetes: kustomize generator reads a file make-keys.sh does not write", replace("k8s/kustomization.yaml", "keys/public/aggregator.pub]", "keys/public/aggregatr.pub]"),
     "file keys/public/aggregatr.pub is not one that make-keys.sh writes"),
    ("systemd: credential from a key file make-keys.sh does not write", replace("systemd/mien-coordinator.service", "/etc/mien/keys/secret/coordinator.key", "/etc/mien/keys/secret/coordinator.pem"),
     "/etc/mien/keys/secret/coordinator.pem is not a file of the make-keys.sh layout"),
    ("systemd: misspelt flag", replace("systemd/mien-feature-worker@.service", "--model ${MIEN_MODEL}", "--modle ${MIEN_MODEL}"),
     "has no option --modle"),
    ("systemd: unknown unit key (systemd-analyze verify)", replace("systemd/mien-aggregator.service", "NoNewPrivileges=yes", "NoNewPrivilege=yes"),
     "NoNewPrivilege"),
    ("systemd: variable the environment file does not set", replace("systemd/env/sequence-worker.env", "MIEN_COORDINATOR=", "MIEN_COORDINATR="),
     "uses $MIEN_COORDINATOR, which its EnvironmentFile example does not set"),
]


def run_validator(args, deploy, layout, only):
    cmd = [sys.executable, str(HERE / "validate.py"), "--mien", args.mien, "--deploy", str(deploy),
           "--context", str(REPO), "--keys-layout", str(layout)] + (["--only", only] if only else [])
    if args.elf:
        cmd += ["--elf", args.elf]
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mien", required=True)
    ap.add_argument("--elf")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout = tmp / "keys"
        made = subprocess.run([str(HERE / "make-keys.sh"), "--mien", args.mien, str(layout)], capture_output=True, text=True)
        if made.returncode != 0:
            print(f"test_validate: make-keys.sh failed: {made.stderr.strip()}", file=sys.stderr)
            print("0 passed, 1 failed")
            return 1

        def case(item):
            index, (name, breakage, expected) = item
            deploy = tmp / f"case{index}"
            shutil.copytree(HERE, deploy, ignore=shutil.ignore_patterns("keys", "__pycache__", "mien-out"))
            if breakage:
                breakage(deploy)
            # A broken case checks only the section it breaks (the committed files are checked whole).
            only = None if breakage is None else {"compose": "compose", "Dockerfile": "dockerfile", "Kubernetes": "k8s", "systemd": "systemd"}[name.split(":")[0]]
            r = run_validator(args, deploy, layout, only)
            report = r.stdout + r.stderr
            if breakage is None:
                ok = r.returncode == 0
                why = "" if ok else f"the committed files do not validate:\n{r.stderr}"
            else:
                ok = r.returncode == 1 and expected in report
                why = "" if ok else f"expected exit 1 and {expected!r}; got exit {r.returncode}:\n{r.stderr[-2000:]}"
            return name, ok, why

        items = list(enumerate([("committed files validate", None, "")] + CASES))
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(case, items))
    failed = 0
    for name, ok, why in results:
        print(f"test_validate: {'ok  ' if ok else 'FAIL'} {name}")
        if not ok:
            failed += 1
            print(f"test_validate:      {why}", file=sys.stderr)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
