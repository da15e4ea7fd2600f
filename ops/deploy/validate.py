#!/usr/bin/env python3
"""Static validation of Mien's deployment files (ops/deploy/).

    validate.py --mien PATH [--deploy DIR] [--context DIR] [--k8s-version 1.30.0]

Checks the container, compose, Kubernetes and systemd files without running them (they are run
with podman by ops/deploy/container-test.sh, as far as podman plays them):

* every file parses (YAML, systemd units and their environment files, the Dockerfile);
* schemas: compose.yaml against the compose-spec JSON schema (vendored by check-jsonschema),
  every Kubernetes object, and the output of `kubectl kustomize` when kubectl is present,
  against the Kubernetes JSON schemas in strict mode (vendored by kubernetes-validate), the
  systemd units with `systemd-analyze verify`;
* every `mien` invocation (compose commands, container args, ExecStart lines, with compose
  ${VAR:-default}, Kubernetes $(VAR) and systemd ${VAR} resolved from their sources) names a
  subcommand and flags the built binary has — its `--experimental-dump-help`, the machine form
  of `mien <cmd> --help` — with a value for each option and none for a flag; the Python
  consumer's invocations likewise against its `--help`;
* images: every image is the one the Dockerfile builds (its stage by compose `build.target`),
  apart from a short list of pinned third-party images; every COPY source exists and is not
  excluded by the Dockerfile's .dockerignore; COPY --from names a stage; the final stages run
  as a non-root user; the run stage installs the Debian package of every shared library the
  built binary needs (readelf NEEDED → dpkg -S), the Swift runtime being linked statically;
* names: Secrets, ConfigMaps, PVCs and HPA targets referenced exist (as objects or kustomize
  generators); compose secrets are declared; key files and folders referenced exist in the
  layout ops/deploy/make-keys.sh writes (it is run, with the built mien, into a scratch folder);
* ports: each client's endpoint reaches the server role on the port that role binds with the
  right flag (compose service names and `expose`, Kubernetes Service → targetPort →
  containerPort, systemd environment files), metrics ports agree with `expose`, containerPorts
  and the Prometheus annotations;
* CURVE: each client's --curve-server-key is its server's public key, and each server's
  --curve-allow holds the public key of every client role that connects to it.

Prints what it checked and every problem (file, object, what is wrong); exit 1 on any problem.
"""
import argparse
import copy
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# In debian:bookworm-slim already (apt depends on them), so the run stage need not install them.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
# Linked statically by `swift build --static-swift-stdlib`.
SWIFT_RUNTIME = re.compile(r"^lib(swift|_?Foundation|dispatch|BlocksRuntime)")
# Images not built from the Dockerfile that the compose file may use; tags must be pinned.
THIRD_PARTY_IMAGES = {"prom/prometheus"}
# Where the deployment folder sits in the repository (the compose file's build paths are relative to it).
DEPLOY_IN_REPO = Path("ops/deploy")
SECTIONS = ("dockerfile", "compose", "k8s", "systemd")
MIEN_ROLES = {"coordinator", "aggregator", "feature-worker", "sequence-worker"}
# client role → (server role, the server's flag that binds what the client connects to,
#                the client's flag holding the endpoint; None = first positional argument)
LINKS = {
    "feature-worker": ("coordinator", "--features", "--coordinator"),
    "sequence-worker": ("coordinator", "--sequences", "--coordinator"),
    "coordinator": ("aggregator", "--bind", "--aggregator"),
    "consumer": ("aggregator", "--publish", None),
}
BIND_FLAGS = {"coordinator": ["--features", "--sequences"], "aggregator": ["--bind", "--publish"]}


class Problems:
    def __init__(self):
        self.items = []
        self.checked = {}

    def add(self, where, message):
        self.items.append(f"{where}: {message}")

    def count(self, what, n=1):
        self.checked[what] = self.checked.get(what, 0) + n


# MARK: command-line specs of the built binary and the consumer

@dataclass
class Spec:
    options: dict           # "--name" → takes a value
    positional: bool        # accepts positional arguments
    positional_required: bool


class Cli:
    def __init__(self, mien, consumer):
        run = subprocess.run([mien, "--experimental-dump-help"], capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"validate: {mien} --experimental-dump-help failed: {run.stderr.strip()}")
        self.tree = json.loads(run.stdout)["command"]
        self.consumer_script = consumer
        self._consumer = None

    def mien_spec(self, path):
        node = self.tree
        for name in path:
            node = next((s for s in node.get("subcommands") or [] if s["commandName"] == name), None)
            if node is None:
                return None
        opts, positional, required = {}, False, False
        for a in node.get("arguments") or []:
            if a["kind"] == "positional":
                positional = True
                required = required or not a.get("isOptional", True)
                continue
            for n in a.get("names") or []:
                if n["kind"] in ("long", "longWithSingleDash"):
                    opts["--" + n["name"]] = a["kind"] == "option"
        return Spec(opts, positional, required)

    def consumer_spec(self):
        if self._consumer is None:
            run = subprocess.run([sys.executable, self.consumer_script, "--help"], capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit(f"validate: {self.consumer_script} --help failed: {run.stderr.strip()}")
            opts, positional, section = {}, False, ""
            for line in run.stdout.splitlines():
                if re.match(r"^\S.*:$", line):
                    section = line
                    continue
                m = re.match(r"^\s+(?:-\w(?: \w+)?, )?(--[\w-]+)(?:[ =]([A-Z_]+))?", line)
                if "options" in section and m:
                    opts[m.group(1)] = m.group(2) is not None
                elif "positional" in section and re.match(r"^\s+\w", line):
                    positional = True
            self._consumer = Spec(opts, positional, positional)
        return self._consumer


def check_argv(argv, spec, where, problems, what):
    """Checks argv (without the program and subcommand) against spec; returns (flags, positionals)."""
    flags, positionals, i = {}, [], 0
    while i < len(argv):
        tok = argv[i]
        if tok.startswith("--"):
            name, eq, value = tok.partition("=")
            if name not in spec.options:
                problems.add(where, f"`{what}` has no option {name} (see `{what} --help`)")
                if not eq and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                    i += 1  # most likely its value: not reported again as a positional argument
            elif spec.options[name]:
                if not eq:
                    if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                        problems.add(where, f"{name} of `{what}` needs a value")
                        value = ""
                    else:
                        i += 1
                        value = argv[i]
                flags[name] = value
            else:
                if eq:
                    problems.add(where, f"{name} of `{what}` is a flag and takes no value (got {tok})")
                flags[name] = True
        else:
            positionals.append(tok)
        i += 1
    if positionals and not spec.positional:
        problems.add(where, f"`{what}` takes no positional arguments (got {positionals})")
    if spec.positional_required and not positionals:
        problems.add(where, f"`{what}` needs its positional arguments (inputs)")
    return flags, positionals


# MARK: the roles found in the files

@dataclass
class Invocation:
    platform: str
    where: str
    unit: str
    role: str
    flags: dict
    positionals: list
    keys: object = None                 # callable: path in the process's view → layout path / set of .pub names
    ports: dict = field(default_factory=dict)   # declared ports of the container: name-or-number → number


def endpoint(value):
    """tcp://HOST:PORT → (host, port) or None."""
    m = re.fullmatch(r"tcp://(\[[^\]]+\]|[^:/]+):(\d+)", value or "")
    return (m.group(1), int(m.group(2))) if m else None


def hostport(value):
    m = re.fullmatch(r"(\[[^\]]+\]|[^:/]+):(\d+)", value or "")
    return (m.group(1), int(m.group(2))) if m else None


def parse_invocation(argv, cli, where, problems, platform, unit, entry_is_mien=True):
    """argv after the image entrypoint / program name; returns an Invocation or None."""
    if not argv:
        problems.add(where, "no command")
        return None
    sub = argv[0]
    spec = cli.mien_spec([sub])
    if spec is None:
        problems.add(where, f"mien has no subcommand `{sub}` (see `mien --help`)")
        return None
    flags, positionals = check_argv(argv[1:], spec, where, problems, f"mien {sub}")
    problems.count("mien invocations")
    return Invocation(platform, where, unit, sub, flags, positionals)


def check_values(inv, problems):
    for flag in BIND_FLAGS.get(inv.role, []) + ([LINKS[inv.role][2]] if inv.role in LINKS and LINKS[inv.role][2] else []):
        v = inv.flags.get(flag)
        if v is None:
            problems.add(inv.where, f"`mien {inv.role}` is given no {flag} (its default is loopback only, unusable across hosts)")
        elif endpoint(v) is None:
            problems.add(inv.where, f"{flag} {v!r} is not tcp://HOST:PORT")
    m = inv.flags.get("--metrics")
    if m is not None and hostport(m) is None:
        problems.add(inv.where, f"--metrics {m!r} is not HOST:PORT")


# MARK: Dockerfile

def dockerignore_excluded(rel, patterns):
    """True when `rel` (a path relative to the build context) is excluded.

    Hand-written because no package here implements .dockerignore matching: patterns are
    Go filepath.Match globs with `**` for any number of folders, `!` re-includes, the last
    matching line wins, and a pattern that matches a folder matches everything under it."""
    excluded = False
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.strip("/")
        rx = "^" + "".join(".*" if t == "**" else fnmatch.translate(t)[4:-3].replace(".*", "[^/]*") if t else ""
                           for t in re.split(r"(\*\*)", p)) + "$"
        rx = rx.replace(".*/", "(.*/)?")
        if any(re.match(rx, x) for x in prefixes):
            excluded = not neg
    return excluded


def check_dockerfile(dockerfile, context, mien, problems, libraries=True):
    from dockerfile_parse import DockerfileParser
    where = str(dockerfile)
    parser = DockerfileParser(path=str(dockerfile))
    ignore_file = Path(str(dockerfile) + ".dockerignore")
    if not ignore_file.exists():
        ignore_file = context / ".dockerignore"
    patterns = [l.strip() for l in ignore_file.read_text().splitlines() if l.strip() and not l.strip().startswith("#")] if ignore_file.exists() else []
    if not ignore_file.exists():
        problems.add(where, "no .dockerignore: the whole build context (including .build/) would be sent")
    args = {}
    stages, current = {}, None
    for ins in parser.structure:
        kind, value, line = ins["instruction"], ins["value"], ins["startline"] + 1
        if kind == "ARG" and current is None:
            name, _, default = value.partition("=")
            args[name.strip()] = default.strip()
        elif kind == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", value, re.I)
            image = re.sub(r"\$\{(\w+)\}", lambda x: args.get(x.group(1), ""), m.group(1))
            current = m.group(2) or f"stage{len(stages)}"
            stages[current] = {"image": image, "run": [], "user": None, "entrypoint": None, "line": line}
        elif current is None:
            continue
        elif kind in ("COPY", "ADD"):
            tokens = shlex.split(value)
            opts = [t for t in tokens if t.startswith("--")]
            paths = [t for t in tokens if not t.startswith("--")]
            src = paths[:-1]
            frm = next((o.split("=", 1)[1] for o in opts if o.startswith("--from=")), None)
            if frm is not None:
                if frm not in stages:
                    problems.add(f"{where}:{line}", f"COPY --from={frm}: no earlier stage named {frm}")
                continue
            for s in src:
                problems.count("COPY sources")
                if not (context / s).exists():
                    problems.add(f"{where}:{line}", f"COPY source {s} does not exist in the build context {context}")
                elif dockerignore_excluded(s.rstrip("/"), patterns):
                    problems.add(f"{where}:{line}", f"COPY source {s} is excluded by {ignore_file.name}")
        elif kind == "RUN":
            stages[current]["run"].append(value)
        elif kind == "USER":
            stages[current]["user"] = value.split(":")[0]
        elif kind == "ENTRYPOINT":
            try:
                stages[current]["entrypoint"] = json.loads(value)
            except json.JSONDecodeError:
                stages[current]["entrypoint"] = shlex.split(value)
    if "runtime" not in stages:
        problems.add(where, "no stage named runtime (the image the roles run)")
        return stages
    rt = stages["runtime"]
    if rt["entrypoint"] != ["mien"]:
        problems.add(where, f"the runtime stage's ENTRYPOINT is {rt['entrypoint']}, expected [\"mien\"]")
    for name, st in stages.items():
        if name in ("runtime", "consumer") and st["user"] in (None, "0", "root"):
            problems.add(where, f"stage {name} runs as root: give it a USER")
    build_runs = " ".join(r for st in stages.values() for r in st["run"])
    if "swift build" in build_runs and "--static-swift-stdlib" not in build_runs:
        problems.add(where, "swift build without --static-swift-stdlib: the run stage has no Swift runtime")
    installed = set()
    for r in rt["run"]:
        for m in re.finditer(r"apt-get install([^&;]*)", r.replace("\\\n", " ")):
            installed |= {t for t in m.group(1).split() if not t.startswith("-")}
    if libraries:
        check_runtime_libraries(mien, installed, where, problems)
        # Mien's OpenCV I/O library (imgcodecs, videoio; opened on first use), built beside mien.
        io = os.path.join(os.path.dirname(mien), "libMienOpenCVIO.so")
        if os.path.exists(io):
            check_runtime_libraries(io, installed, where, problems)
        else:
            problems.add(where, f"{io} is missing: build it beside mien (swift build -c release --product MienOpenCVIO)")
    return stages


def packages_of(paths):
    """Debian package owning each library path (None when none does), in one `dpkg -S` call;
    the /lib ↔ /usr/lib aliases of merged-/usr systems and the resolved symlink are tried too."""
    candidates = {}
    for path in paths:
        for c in (path, os.path.realpath(path), "/usr" + path if path.startswith("/lib") else path,
                  path[4:] if path.startswith("/usr/lib") else path):
            candidates.setdefault(c, set()).add(path)
    run = subprocess.run(["dpkg", "-S", *sorted(candidates)], capture_output=True, text=True)
    out = {path: None for path in paths}
    for line in run.stdout.splitlines():
        pkgs, _, owned = line.rpartition(": ")
        for path in candidates.get(owned, ()):
            out[path] = out[path] or pkgs.split(",")[0].split(":")[0].strip()
    return out


def dependency_closure(roots):
    """Packages that installing `roots` brings in (Depends, Pre-Depends; virtual packages through
    Provides), from this machine's dpkg database (Debian 12, the run stage's release)."""
    run = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Depends}, ${Pre-Depends}\t${Provides}\n"], capture_output=True, text=True)
    deps, providers = {}, {}
    for line in run.stdout.splitlines():
        name, dep, provides = (line.split("\t") + ["", ""])[:3]
        # "a (>= 1) | b, c" → alternatives per clause; the first installed alternative is taken
        deps[name] = [[re.match(r"\s*([a-z0-9][a-z0-9.+-]*)", alt).group(1) for alt in clause.split("|") if re.match(r"\s*[a-z0-9]", alt)]
                      for clause in dep.split(",") if clause.strip()]
        for v in re.findall(r"([a-z0-9][a-z0-9.+-]*)", provides):
            providers.setdefault(v, name)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        p = p if p in deps else providers.get(p, p)
        if p in seen:
            continue
        seen.add(p)
        for clause in deps.get(p, []):
            pick = next((a for a in clause if a in deps), None) or next((providers[a] for a in clause if a in providers), None)
            if pick:
                todo.append(pick)
    return seen


def check_runtime_libraries(mien, installed, where, problems):
    """Each library mien links directly comes from a package the run stage installs by name (or
    from the base image); each library those pull in (ldd) from the dependency closure."""
    readelf = shutil.which("readelf") or shutil.which("llvm-readelf")
    if not readelf or not shutil.which("dpkg") or not shutil.which("ldd"):
        problems.add(where, "cannot check the run stage's libraries: readelf, ldd or dpkg missing (apt-get install binutils)")
        return
    needed = re.findall(r"\(NEEDED\).*\[(.+)\]", subprocess.run([readelf, "-d", mien], capture_output=True, text=True).stdout)
    if not needed:
        problems.add(where, f"{mien} lists no shared libraries: give --elf the built (dynamically linked) mien binary")
        return
    resolved = {}
    for line in subprocess.run(["ldd", mien], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+) \(", line) or re.match(r"\s*(/\S+) \(", line)
        if m:
            resolved[os.path.basename(m.group(1))] = m.group(2) if m.lastindex == 2 else m.group(1)
        elif "not found" in line:
            problems.add(where, f"{mien}: {line.strip()} on this machine")
    libs = {lib: path for lib, path in resolved.items() if not SWIFT_RUNTIME.match(lib)}
    owners = packages_of(libs.values())
    explicit = set(installed) | BASE_IMAGE_PACKAGES
    closure = dependency_closure(explicit)
    for lib, path in sorted(libs.items()):
        problems.count("shared libraries checked against the run stage")
        pkg = owners[path]
        if pkg is None:
            problems.add(where, f"{mien} needs {lib} ({path}), which no Debian package owns here")
        elif lib in needed and pkg not in explicit and dependency_closure({pkg}) - closure:
            problems.add(where, f"{mien} needs {lib} from Debian package {pkg}, which the runtime stage does not install")
        elif pkg not in closure:
            problems.add(where, f"{mien} needs {lib} (through another library) from Debian package {pkg}, which nothing the runtime stage installs brings in")


# MARK: compose

def interpolate(value, env=None):
    """Compose-style ${VAR:-default} / ${VAR-default} / ${VAR} with the defaults (no environment)."""
    env = env or {}
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: env.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


def compose_schema():
    import check_jsonschema
    p = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(p.read_text())


def check_compose(path, deploy, context, stages, cli, layout, problems):
    import jsonschema
    where = str(path)
    doc = interpolate(yaml.safe_load(path.read_text()))
    doc = {k: v for k, v in doc.items() if not k.startswith("x-")}
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        problems.add(where, f"compose schema: {'/'.join(map(str, e.path))}: {e.message}")
    problems.count("compose files schema-checked")
    services = doc.get("services") or {}
    built = {}
    for name, svc in services.items():
        b = svc.get("build")
        if b:
            # The compose file sits at DEPLOY_IN_REPO in the repository: its build context must be
            # the repository root and its Dockerfile this folder's.
            ctx = os.path.normpath(DEPLOY_IN_REPO / b.get("context", "."))
            if ctx != ".":
                problems.add(f"{where} {name}", f"build.context {b.get('context')} is {ctx} from the repository root, not the root (the Dockerfile's COPY paths are relative to it)")
            if b.get("dockerfile") != str(DEPLOY_IN_REPO / "Dockerfile"):
                problems.add(f"{where} {name}", f"build.dockerfile {b.get('dockerfile')} is not {DEPLOY_IN_REPO / 'Dockerfile'}")
            target = b.get("target")
            if target not in stages:
                problems.add(f"{where} {name}", f"build.target {target} is not a stage of the Dockerfile")
            if "image" in svc:
                built[svc["image"]] = target
    declared_secrets = doc.get("secrets") or {}
    for sname, s in declared_secrets.items():
        f = s.get("file", "")
        rel = keys_rel(f)
        if rel is None or rel not in layout["files"]:
            problems.add(f"{where} secrets.{sname}", f"file {f} is not one that ops/deploy/make-keys.sh writes under ./keys/")
    invocations = []
    for name, svc in services.items():
        w = f"{where} service {name}"
        image = svc.get("image", "")
        target = built.get(image)
        if target is None:
            repo, _, tag = image.rpartition(":")
            if repo in THIRD_PARTY_IMAGES and tag and tag != "latest":
                problems.count("third-party images (pinned)")
                continue
            problems.add(w, f"image {image!r} is neither built from the Dockerfile (a service with build: and this image) nor a pinned allowed third-party image")
            continue
        problems.count("images checked")
        for s in svc.get("secrets") or []:
            sname = s if isinstance(s, str) else s.get("source")
            if sname not in declared_secrets:
                problems.add(w, f"uses secret {sname}, which the top-level secrets: does not declare")
        cmd = svc.get("command") or []
        cmd = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
        expose = {int(str(p).split("/")[0]) for p in svc.get("expose") or []}
        for p in svc.get("ports") or []:
            target_port = int(str(p).split(":")[-1].split("/")[0]) if not isinstance(p, dict) else int(p["target"])
            if target_port not in expose:
                problems.add(w, f"publishes container port {target_port}, which the service does not expose")

        def resolve(p, svc=svc):
            if p.startswith("/run/secrets/"):
                s = declared_secrets.get(p[len("/run/secrets/"):])
                return keys_rel(s.get("file", "")) if s else None
            for v in svc.get("volumes") or []:
                parts = v.split(":") if isinstance(v, str) else [v.get("source"), v.get("target")]
                src, dst = parts[0], parts[1]
                if (p == dst or p.startswith(dst.rstrip("/") + "/")) and keys_rel(src) is not None:
                    return (keys_rel(src) + p[len(dst):]).strip("/")
            return None
        if target == "consumer":
            spec = cli.consumer_spec()
            flags, positionals = check_argv(cmd, spec, w, problems, "mien_consumer.py")
            problems.count("consumer invocations")
            inv = Invocation("compose", w, name, "consumer", flags, positionals)
        elif target == "runtime":
            inv = parse_invocation(cmd, cli, w, problems, "compose", name)
            if inv is None:
                continue
        else:
            problems.add(w, f"image {image} is built from stage {target}, which runs no known role")
            continue
        inv.keys = lambda p, r=resolve: layout_lookup(layout, r(p))
        inv.ports = {p: p for p in expose}
        invocations.append(inv)
    # Ports: what the servers bind is exposed; clients name the server's service and port.
    for inv in invocations:
        for flag in BIND_FLAGS.get(inv.role, []) + ["--metrics"]:
            v = inv.flags.get(flag)
            ep = endpoint(v) if flag != "--metrics" else hostport(v)
            if ep and ep[1] not in inv.ports:
                problems.add(inv.where, f"{flag} binds port {ep[1]}, which the service does not expose")
    check_links(invocations, lambda host, server: host == server.unit, lambda server, flag, port: endpoint(server.flags.get(flag)) and endpoint(server.flags.get(flag))[1] == port, problems)
    return invocations


def keys_rel(src):
    """./keys/REL (compose, relative to ops/deploy) → REL."""
    m = re.match(r"^\./keys(?:/(.*))?$", src or "")
    return (m.group(1) or "") if m else None


def layout_lookup(layout, rel):
    if rel is None:
        return None
    rel = rel.strip("/")
    if rel in layout["files"]:
        return rel
    if rel in layout["dirs"]:
        return {Path(f).name for f in layout["files"] if str(Path(f).parent) == rel and f.endswith(".pub")}
    return None


# MARK: links between roles: endpoints and CURVE keys

def check_links(invocations, host_matches, port_matches, problems, describe_port=None):
    by_role = {}
    for inv in invocations:
        by_role.setdefault(inv.role, []).append(inv)
    for inv in invocations:
        check_values(inv, problems) if inv.role in MIEN_ROLES else None
        if inv.role not in LINKS:
            continue
        server_role, server_flag, client_flag = LINKS[inv.role]
        servers = by_role.get(server_role, [])
        value = inv.flags.get(client_flag) if client_flag else (inv.positionals[0] if inv.positionals else None)
        ep = endpoint(value)
        if not servers:
            problems.add(inv.where, f"connects to a {server_role}, but these files run none")
            continue
        if ep is None:
            continue
        problems.count("client → server links")
        matches = [s for s in servers if host_matches(ep[0], s)]
        if not matches:
            problems.add(inv.where, f"connects to {value}, but no {server_role} runs at host {ep[0]}")
            continue
        server = matches[0]
        if not port_matches(server, server_flag, ep[1]):
            problems.add(inv.where, f"connects to port {ep[1]} of the {server_role}, which does not serve its {server_flag} ({server.flags.get(server_flag)}) there")
        check_curve(inv, server, problems)


def check_curve(client, server, problems):
    """The client's --curve-server-key is the server's public key; the server allows the client."""
    c_secret, s_secret = client.flags.get("--curve-secret-key"), server.flags.get("--curve-secret-key")
    if not c_secret and not s_secret:
        return
    if bool(c_secret) != bool(s_secret):
        problems.add(client.where, f"CURVE on one side only of the link to the {server.role} (client key {c_secret}, server key {s_secret})")
        return
    problems.count("CURVE links")
    ck = client.keys(c_secret) if client.keys else None
    sk = server.keys(s_secret) if server.keys else None
    if not isinstance(ck, str) or not ck.endswith(".key"):
        problems.add(client.where, f"--curve-secret-key {c_secret} is not a secret key file of the make-keys.sh layout")
        return
    if not isinstance(sk, str) or not sk.endswith(".key"):
        problems.add(server.where, f"--curve-secret-key {s_secret} is not a secret key file of the make-keys.sh layout")
        return
    c_name, s_name = Path(ck).stem, Path(sk).stem
    server_key = client.flags.get("--curve-server-key")
    pub = client.keys(server_key) if server_key else None
    if not server_key:
        problems.add(client.where, f"has a CURVE key but no --curve-server-key for the {server.role}")
    elif not isinstance(pub, str) or Path(pub).name != f"{s_name}.pub":
        problems.add(client.where, f"--curve-server-key {server_key} ({pub}) is not the {server.role}'s public key {s_name}.pub")
    # The aggregator's result stream has an allow-list of its own (consumer keys).
    allow_flag = "--curve-allow-consumers" if client.role == "consumer" else "--curve-allow"
    allow = server.flags.get(allow_flag)
    allowed = server.keys(allow) if allow else None
    if isinstance(allowed, str):
        allowed = {Path(allowed).name}
    if not allow:
        problems.add(server.where, f"has a CURVE key but no {allow_flag} (the {client.role} would be refused)")
    elif not allowed:
        problems.add(server.where, f"{allow_flag} {allow} is no .pub file or folder of the make-keys.sh layout")
    elif f"{c_name}.pub" not in allowed:
        problems.add(server.where, f"{allow_flag} {allow} does not hold {c_name}.pub, so the {client.role} ({client.where}) would be refused")


# MARK: Kubernetes

POD_OWNERS = {"Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"}


def k8s_objects(k8s_dir, problems):
    objects, kustomization = [], None
    for f in sorted(k8s_dir.glob("*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(f.read_text()) if d]
        except yaml.YAMLError as e:
            problems.add(str(f), f"not YAML: {e}")
            continue
        for d in docs:
            if d.get("kind") == "Kustomization":
                kustomization = (f, d)
            else:
                objects.append((f, d))
    return objects, kustomization


def check_k8s_schema(objects, version, problems, label):
    import kubernetes_validate
    for f, d in objects:
        try:
            kubernetes_validate.validate(d, version, strict=True)
            problems.count(f"Kubernetes objects schema-checked ({label}, strict, v{version})")
        except kubernetes_validate.ValidationError as e:
            problems.add(f"{f} {d.get('kind')}/{d.get('metadata', {}).get('name')}", f"Kubernetes {version} schema ({label}): {e.path}: {e.message}" if hasattr(e, "path") else str(e))
        except Exception as e:  # unknown kind/version: say so, never skip silently
            problems.add(f"{f} {d.get('kind')}/{d.get('metadata', {}).get('name')}", f"Kubernetes {version} schema ({label}): {e}")


def check_k8s(k8s_dir, cli, layout, built_images, version, problems):
    objects, kz = k8s_objects(k8s_dir, problems)
    check_k8s_schema(objects, version, problems, "files")
    names = {}
    for f, d in objects:
        names.setdefault(d["kind"], set()).add(d["metadata"]["name"])
    generated = {}  # name → list of (key, layout rel path)
    if kz is None:
        problems.add(str(k8s_dir), "no kustomization.yaml")
    else:
        kf, k = kz
        listed = set(k.get("resources") or [])
        for f, _ in objects:
            if f.name not in listed:
                problems.add(str(kf), f"resources: does not list {f.name}")
        for r in listed:
            if not (k8s_dir / r).exists():
                problems.add(str(kf), f"resources: {r} does not exist")
        for kind, gens in (("Secret", k.get("secretGenerator") or []), ("ConfigMap", k.get("configMapGenerator") or [])):
            for g in gens:
                names.setdefault(kind, set()).add(g["name"])
                files = []
                for entry in g.get("files") or []:
                    key, _, src = entry.partition("=") if "=" in entry else (Path(entry).name, "", entry)
                    rel = src[len("keys/"):] if src.startswith("keys/") else None
                    if rel is None or rel not in layout["files"]:
                        problems.add(f"{kf} {kind} generator {g['name']}", f"file {src} is not one that make-keys.sh writes under keys/")
                    files.append((key, rel))
                generated[g["name"]] = files
    invocations = []
    pods = []
    for f, d in objects:
        if d["kind"] not in POD_OWNERS:
            continue
        pod = d["spec"]["template"]
        pods.append((f, d, pod))
        spec = pod["spec"]
        w = f"{f} {d['kind']}/{d['metadata']['name']}"
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for v in volumes.values():
            problems.count("volume references")
            if "secret" in v and v["secret"]["secretName"] not in names.get("Secret", set()):
                problems.add(w, f"volume {v['name']}: Secret {v['secret']['secretName']} is not defined (manifest or secretGenerator)")
            if "configMap" in v and v["configMap"]["name"] not in names.get("ConfigMap", set()):
                problems.add(w, f"volume {v['name']}: ConfigMap {v['configMap']['name']} is not defined")
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in names.get("PersistentVolumeClaim", set()):
                problems.add(w, f"volume {v['name']}: PersistentVolumeClaim {v['persistentVolumeClaim']['claimName']} is not defined")
        annotations = pod.get("metadata", {}).get("annotations") or {}
        for c in spec.get("containers") or []:
            cw = f"{w} container {c['name']}"
            image = c.get("image", "")
            if built_images.get(image) != "runtime":
                problems.add(cw, f"image {image!r} is not the runtime image the Dockerfile builds ({[i for i, t in built_images.items() if t == 'runtime']})")
            problems.count("images checked")
            env = {}
            for ef in c.get("envFrom") or []:
                ref = ef.get("configMapRef", {}).get("name")
                if ref is not None:
                    if ref not in names.get("ConfigMap", set()):
                        problems.add(cw, f"envFrom: ConfigMap {ref} is not defined")
                    cm = next((o for _, o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == ref), None)
                    env.update((cm or {}).get("data") or {})
            for e in c.get("env") or []:
                if "value" in e:
                    env[e["name"]] = e["value"]
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef") or (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["name"] not in names.get("ConfigMap", set()) | names.get("Secret", set()):
                    problems.add(cw, f"env {e['name']}: {ref['name']} is not defined")

            def subst(a, env=env, cw=cw):
                def one(m):
                    if m.group(1) not in env:
                        problems.add(cw, f"args use $({m.group(1)}), which no env or envFrom ConfigMap defines")
                        return ""
                    return str(env[m.group(1)])
                return re.sub(r"\$\((\w+)\)", one, str(a))
            if c.get("command"):
                problems.add(cw, "overrides the image's ENTRYPOINT (mien) with command:; give args: only")
                continue
            inv = parse_invocation([subst(a) for a in c.get("args") or []], cli, cw, problems, "k8s", d["metadata"]["name"])
            if inv is None:
                continue
            mounts = [(m["mountPath"], volumes.get(m["name"])) for m in c.get("volumeMounts") or []]
            for mp, v in mounts:
                if v is None:
                    problems.add(cw, f"mounts {mp} from a volume the pod does not define")

            def resolve(p, mounts=mounts):
                for mp, v in mounts:
                    if not v:
                        continue
                    src = (v.get("secret") or {}).get("secretName") or (v.get("configMap") or {}).get("name")
                    if src is None or src not in generated:
                        continue
                    files = generated[src]
                    if p.rstrip("/") == mp.rstrip("/"):
                        return {Path(r).name for k, r in files if r and r.endswith(".pub")}
                    for key, rel in files:
                        if p == f"{mp.rstrip('/')}/{key}":
                            return rel
                return None
            inv.keys = resolve
            inv.ports = {}
            for p in c.get("ports") or []:
                inv.ports[p["containerPort"]] = p["containerPort"]
                if "name" in p:
                    inv.ports[p["name"]] = p["containerPort"]
            inv.labels = pod.get("metadata", {}).get("labels") or {}
            for flag in BIND_FLAGS.get(inv.role, []):
                ep = endpoint(inv.flags.get(flag))
                if ep and ep[1] not in inv.ports.values():
                    problems.add(cw, f"{flag} binds port {ep[1]}, which is not among the container's ports")
            mh = hostport(inv.flags.get("--metrics"))
            if annotations.get("prometheus.io/scrape") == "true":
                if not mh:
                    problems.add(cw, "annotated for Prometheus scraping but runs without --metrics")
                elif str(mh[1]) != str(annotations.get("prometheus.io/port")):
                    problems.add(cw, f"prometheus.io/port {annotations.get('prometheus.io/port')} is not the --metrics port {mh[1]}")
                elif mh[1] not in inv.ports.values():
                    problems.add(cw, f"--metrics port {mh[1]} is not among the container's ports")
            invocations.append(inv)
    services = {d["metadata"]["name"]: (f, d) for f, d in objects if d["kind"] == "Service"}
    for name, (f, svc) in services.items():
        sel = svc["spec"].get("selector") or {}
        selected = [inv for inv in invocations if sel and all(inv.labels.get(k) == v for k, v in sel.items())]
        if not selected:
            problems.add(f"{f} Service/{name}", f"selector {sel} matches no pod template")
        for p in svc["spec"].get("ports") or []:
            problems.count("Service ports")
            tp = p.get("targetPort", p["port"])
            for inv in selected:
                if tp not in inv.ports:
                    problems.add(f"{f} Service/{name}", f"port {p['port']}: targetPort {tp} is not a port of {inv.where}")
    for f, d in objects:
        if d["kind"] == "HorizontalPodAutoscaler":
            ref = d["spec"]["scaleTargetRef"]
            if ref["name"] not in names.get(ref["kind"], set()):
                problems.add(f"{f} HPA/{d['metadata']['name']}", f"scales {ref['kind']}/{ref['name']}, which is not defined")
            target = next((o for _, o in objects if o["kind"] == ref["kind"] and o["metadata"]["name"] == ref["name"]), None)
            if target and not all("requests" in (c.get("resources") or {}) and "cpu" in c["resources"]["requests"]
                                  for c in target["spec"]["template"]["spec"]["containers"]):
                problems.add(f"{f} HPA/{d['metadata']['name']}", f"{ref['name']} has containers without a CPU request: CPU utilisation is undefined")

    def host_matches(host, server):
        svc = services.get(host.split(".")[0])
        if not svc:
            return False
        sel = svc[1]["spec"].get("selector") or {}
        return bool(sel) and all(server.labels.get(k) == v for k, v in sel.items())

    def port_matches(server, flag, port):
        ep = endpoint(server.flags.get(flag))
        for name, (f, svc) in services.items():
            sel = svc["spec"].get("selector") or {}
            if not (sel and all(server.labels.get(k) == v for k, v in sel.items())):
                continue
            for p in svc["spec"].get("ports") or []:
                if p["port"] == port:
                    return ep is not None and server.ports.get(p.get("targetPort", p["port"])) == ep[1]
        return False
    check_links(invocations, host_matches, port_matches, problems)
    return invocations, kz


def check_kustomize(k8s_dir, layout_dir, version, problems):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("validate: kubectl not installed: the kustomize rendering check is not run (every file was still checked on its own)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy_dir = Path(tmp) / "k8s"
        shutil.copytree(k8s_dir, copy_dir, ignore=shutil.ignore_patterns("keys"))
        shutil.copytree(layout_dir, copy_dir / "keys")
        run = subprocess.run([kubectl, "kustomize", str(copy_dir)], capture_output=True, text=True)
        if run.returncode != 0:
            problems.add(str(k8s_dir / "kustomization.yaml"), f"kubectl kustomize failed: {run.stderr.strip()}")
            return
        rendered = [("kustomize output", d) for d in yaml.safe_load_all(run.stdout) if d]
        problems.count("objects rendered by kubectl kustomize", len(rendered))
        check_k8s_schema(rendered, version, problems, "kustomize output")
        existing = {(d["kind"], d["metadata"]["name"]) for _, d in rendered}
        for _, d in rendered:
            if d["kind"] in POD_OWNERS:
                for v in d["spec"]["template"]["spec"].get("volumes") or []:
                    for kind, ref in (("Secret", (v.get("secret") or {}).get("secretName")), ("ConfigMap", (v.get("configMap") or {}).get("name"))):
                        if ref and (kind, ref) not in existing:
                            problems.add(f"kustomize output {d['kind']}/{d['metadata']['name']}", f"{kind} {ref} is not in the rendered objects")


# MARK: systemd

def read_env_file(path):
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, eq, v = line.partition("=")
        if not eq:
            raise ValueError(f"{path}: line without KEY=VALUE: {line}")
        env[k.strip()] = v.strip().strip('"')
    return env


def read_unit(path):
    """systemd unit → list of (section, key, value); continuation lines joined."""
    out, section, pending = [], None, ""
    for raw in path.read_text().splitlines():
        line = raw.rstrip()
        if pending:
            line = pending + " " + line.strip()
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            section = s.strip("[]")
            continue
        k, _, v = s.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


def check_systemd(sd_dir, cli, layout, mien, problems):
    invocations = []
    units = sorted(sd_dir.glob("*.service"))
    for u in units:
        entries = read_unit(u)
        w = str(u)
        env, creds = {}, {}
        for sec, k, v in entries:
            if k == "EnvironmentFile":
                optional = v.startswith("-")
                name = Path(v.lstrip("-")).name
                local = sd_dir / "env" / name
                if local.exists():
                    env.update(read_env_file(local))
                elif not optional:
                    problems.add(w, f"EnvironmentFile {v} has no example in {sd_dir / 'env'}")
            if k == "LoadCredential":
                cname, _, src = v.partition(":")
                creds[cname] = src
                if not src.startswith("/etc/mien/keys/") or src[len("/etc/mien/keys/"):] not in layout["files"]:
                    problems.add(w, f"LoadCredential {v}: {src} is not a file of the make-keys.sh layout under /etc/mien/keys/")
        exec_start = [v for sec, k, v in entries if k == "ExecStart"]
        if len(exec_start) != 1:
            problems.add(w, f"expected one ExecStart=, found {len(exec_start)}")
            continue
        instance = "9111" if u.name.endswith("@.service") else ""
        unit_name = u.name.replace("@.service", f"@{instance}.service")

        def expand(tok, env=env, w=w):
            tok = tok.replace("%i", instance).replace("%d", f"/run/credentials/{unit_name}")
            def one(m):
                name = m.group(1) or m.group(2)
                if name not in env:
                    problems.add(w, f"ExecStart uses ${name}, which its EnvironmentFile example does not set")
                    return ""
                return env[name]
            return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, tok)
        argv = []
        for tok in shlex.split(exec_start[0]):
            if re.fullmatch(r"\$\w+", tok):  # unbraced: split into words
                argv += expand(tok).split()
            else:
                argv.append(expand(tok))
        if not argv or Path(argv[0]).name != "mien":
            problems.add(w, f"ExecStart runs {argv[:1]}, not mien")
            continue
        inv = parse_invocation(argv[1:], cli, w, problems, "systemd", u.name)
        if inv is None:
            continue

        def resolve(p, creds=creds, unit_name=unit_name):
            cred_dir = f"/run/credentials/{unit_name}/"
            if p.startswith(cred_dir):
                src = creds.get(p[len(cred_dir):], "")
                p = src
            if p.startswith("/etc/mien/keys/"):
                return layout_lookup(layout, p[len("/etc/mien/keys/"):])
            return None
        inv.keys = resolve
        invocations.append(inv)

    def host_matches(host, server):
        return any(endpoint(v) and endpoint(v)[0] in (host, "0.0.0.0", "*") for f in BIND_FLAGS[server.role] for v in [server.flags.get(f)])

    def port_matches(server, flag, port):
        ep = endpoint(server.flags.get(flag))
        return ep is not None and ep[1] == port
    check_links(invocations, host_matches, port_matches, problems)
    verify_units(units, mien, problems)
    return invocations


def verify_units(units, mien, problems):
    tool = shutil.which("systemd-analyze")
    if not tool:
        print("validate: systemd-analyze not installed: unit files were parsed but not verified")
        return
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for u in units:
            text = u.read_text().replace("/usr/local/bin/mien", str(Path(mien).resolve()))
            name = u.name.replace("@.service", "@9111.service")
            (Path(tmp) / u.name).write_text(text)
            if name != u.name:
                (Path(tmp) / name).write_text(text)
            names.append(name)
        run = subprocess.run([tool, "verify", "--man=no", *names], cwd=tmp, capture_output=True, text=True)
        out = (run.stdout + run.stderr).strip()
        problems.count("systemd units verified", len(names))
        if run.returncode != 0 or out:
            for line in out.splitlines() or [f"exit {run.returncode}"]:
                problems.add("systemd-analyze verify", line.replace(tmp + "/", ""))


# MARK: keys layout

def make_layout(deploy, mien, tmp):
    run = subprocess.run([str(deploy / "make-keys.sh"), "--mien", mien, str(tmp)], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"validate: {deploy / 'make-keys.sh'} failed: {run.stderr.strip() or run.stdout.strip()}")
    return read_layout(tmp)


def read_layout(tmp):
    files, dirs = set(), {""}
    for p in Path(tmp).rglob("*"):
        rel = str(p.relative_to(tmp))
        (dirs if p.is_dir() else files).add(rel)
    return {"files": files, "dirs": dirs}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent
    ap.add_argument("--mien", required=True, help="the built mien binary")
    ap.add_argument("--deploy", default=str(here), help="the deployment folder (default: this script's)")
    ap.add_argument("--context", default=str(here.parent.parent), help="the Docker build context (default: the repository root)")
    ap.add_argument("--elf", help="the binary whose shared libraries the run stage must provide (default: --mien)")
    ap.add_argument("--keys-layout", help="a folder made by make-keys.sh to use instead of making one (the tests reuse one)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections to check (default: all of {','.join(SECTIONS)})")
    ap.add_argument("--k8s-version", default="1.30.0", help="Kubernetes version whose schemas apply (default 1.30.0)")
    args = ap.parse_args()
    deploy, context = Path(args.deploy).resolve(), Path(args.context).resolve()
    problems = Problems()
    cli = Cli(args.mien, str(context / "examples" / "python" / "mien_consumer.py"))
    for f in sorted(deploy.rglob("*.yaml")) + sorted(deploy.rglob("*.yml")):
        if "keys" in f.relative_to(deploy).parts:
            continue
        try:
            list(yaml.safe_load_all(f.read_text()))
            problems.count("YAML files parsed")
        except yaml.YAMLError as e:
            problems.add(str(f), f"not YAML: {e}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.keys_layout:
            layout_dir = Path(args.keys_layout)
            layout = read_layout(layout_dir)
        else:
            layout_dir = Path(tmp) / "keys"
            layout = make_layout(deploy, args.mien, layout_dir)
        only = set(args.only.split(","))
        if only - set(SECTIONS):
            raise SystemExit(f"validate: --only takes {','.join(SECTIONS)}, not {','.join(sorted(only - set(SECTIONS)))}")
        stages = check_dockerfile(deploy / "Dockerfile", context, args.elf or args.mien, problems if "dockerfile" in only else Problems(),
                                  libraries="dockerfile" in only)
        built = {}
        if "compose" in only:
            check_compose(deploy / "compose.yaml", deploy, context, stages, cli, layout, problems)
        doc = interpolate(yaml.safe_load((deploy / "compose.yaml").read_text()))
        for svc in (doc.get("services") or {}).values():
            if svc.get("build") and svc.get("image"):
                built[svc["image"]] = svc["build"].get("target")
        if "k8s" in only:
            check_k8s(deploy / "k8s", cli, layout, built, args.k8s_version, problems)
            check_kustomize(deploy / "k8s", layout_dir, args.k8s_version, problems)
        if "systemd" in only:
            check_systemd(deploy / "systemd", cli, layout, args.mien, problems)
    for what, n in problems.checked.items():
        print(f"validate: checked {n} {what}")
    if problems.items:
        for p in problems.items:
            print(f"validate: PROBLEM: {p}", file=sys.stderr)
        print(f"validate: {len(problems.items)} problem(s) in {deploy}", file=sys.stderr)
        return 1
    print(f"validate: {deploy}: no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main())
