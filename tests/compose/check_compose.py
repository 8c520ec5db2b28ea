#!/usr/bin/python3
"""Checks compose/ without a Docker engine.

Usage: check_compose.py <fanwatch-producer> <fanwatch-detector>

What it verifies (each failure is printed; exit 1 if any):
  - compose/docker-compose.yml parses, has no `version:`, and every service's image is either
    built from compose/Dockerfile (context = repository root) or a pinned tag (no latest);
  - depends_on / volumes / secrets / networks name things that exist; a service without a
    profile never depends on one with a profile; bind mounts exist in the repository and are
    read-only; secrets come from a file that exists or a variable set in compose/.env, and the
    daemons' secrets are owned by the image's uid with mode 0400 (the daemons refuse others);
  - no container_name anywhere; the detector has no host port, no fixed client id or name;
  - every FANWATCH_* variable the daemons get (Dockerfile ENV, env_file, environment) is
    accepted by the real binary: `<daemon> --check-config` passes with exactly that environment
    (container paths replaced by the mounted repository files and a stand-in secret), and FAILS
    when any single variable name is misspelt;
  - file-valued settings point at something mounted (rules file, secret, cursor volume);
  - health checks and Prometheus targets use the port the daemons listen on;
  - kafka-init creates the topics the daemons use, auto-creation is off, and the sessions
    topic's retention covers the detector's rewind (2 x detect.window + detect.lateness);
  - compose/Dockerfile: the build stage installs the build packages of scripts/setup
    (PKGS_BUILD) and nothing scripts/setup does not name and builds exactly the fanwatch-* executables of the CMake files (which
    include every daemon the tests run); the runtime stage copies them, runs as uid 10001, has
    a /healthz HEALTHCHECK, and installs the Debian package of every library the binaries need;
  - the Vector configs, the Prometheus config and the Grafana provisioning parse; the alerts
    go to the topic the detector writes, keyed by event.id; every metric the dashboard queries
    is registered in the C sources;
  - compose/pcap/sample.pcap is what compose/arkime/make_sample_pcap.py generates;
  - finally, a set of deliberate mistakes (a misspelt key, a container_name on the detector,
    an unknown metric, a missing Dockerfile target, ...) is applied to copies of the parsed
    files, and each must be reported: proof that the checks can fail.
"""
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CDIR = os.path.join(ROOT, "compose")
FW_SERVICES = {"producer": "fanwatch-producer", "detector": "fanwatch-detector"}
IMAGE_UID = "10001"
LIB_PACKAGES = {}  # shared library -> Debian packages shipping it (dpkg-query is slow)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def parse_env_file(path):
    env = {}
    for line in read(path).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, sep, v = line.partition("=")
        if not sep:
            raise ValueError("%s: not KEY=VALUE: %r" % (path, line))
        env[k.strip()] = v
    return env


def duration_ms(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", text.strip())
    if not m:
        raise ValueError("bad duration %r" % text)
    return int(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000,
                              None: 1000}[m.group(2)]


def dockerfile_stages(text):
    """[(stage name, [(instruction, argument)])] with continuation lines joined."""
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        cur += " " + s[:-1] if s.endswith("\\") else " " + s
        if not s.endswith("\\"):
            lines.append(cur.strip())
            cur = ""
    stages = []
    for ln in lines:
        instr, _, arg = ln.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.search(r"\bAS\s+(\S+)", arg, re.I)
            stages.append((m.group(1) if m else str(len(stages)), [("FROM", arg)]))
        elif stages:
            stages[-1][1].append((instr, arg.strip()))
    return stages


def apt_packages(run_arg):
    out = []
    for m in re.finditer(r"apt-get install ([^&;]*)", run_arg):
        out += [w for w in m.group(1).split() if not w.startswith("-")]
    return out


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Inputs:
    """Everything the checks read, parsed once; mutations work on deep copies."""

    def __init__(self):
        self.compose = yaml.safe_load(read(os.path.join(CDIR, "docker-compose.yml")))
        self.dotenv = parse_env_file(os.path.join(CDIR, ".env"))
        self.env_files = {}
        for svc in (self.compose.get("services") or {}).values():
            for ef in self._env_file_list(svc):
                p = os.path.normpath(os.path.join(CDIR, ef))
                if os.path.isfile(p):
                    self.env_files[ef] = parse_env_file(p)
        self.dockerfile = read(os.path.join(CDIR, "Dockerfile"))
        self.setup = read(os.path.join(ROOT, "scripts", "setup"))
        self.cmake = {p: read(os.path.join(ROOT, p)) for p in
                      ("CMakeLists.txt", "producer/CMakeLists.txt", "detector/CMakeLists.txt",
                       "tests/CMakeLists.txt", "scripts/test")}
        self.vector = {}
        self.prometheus = None
        self.grafana_ds = None
        self.grafana_prov = None
        self.dashboard = json.loads(read(os.path.join(CDIR, "grafana/dashboards/fanwatch.json")))
        self.c_metrics = set()
        for d in ("common", "producer", "detector"):
            for fn in os.listdir(os.path.join(ROOT, d)):
                if fn.endswith(".c"):
                    self.c_metrics |= set(re.findall(r'"(fanwatch_[a-z0-9_]+)',
                                                     read(os.path.join(ROOT, d, fn))))
        self.alert_schema = json.loads(read(os.path.join(ROOT, "docs/alert.schema.json")))
        self.dockerignore = read(os.path.join(ROOT, ".dockerignore"))

    @staticmethod
    def _env_file_list(svc):
        ef = svc.get("env_file") or []
        if isinstance(ef, str):
            ef = [ef]
        return [e["path"] if isinstance(e, dict) else e for e in ef]


class Checker:
    def __init__(self, inp, binaries, tmp, thorough=True):
        self.thorough = thorough  # misspell every variable (the base run only: it is slow)
        self.i = inp
        self.bin = binaries
        self.tmp = tmp
        self.errors = []

    def err(self, msg):
        self.errors.append(msg)

    # ---- helpers ----
    @property
    def services(self):
        return self.i.compose.get("services") or {}

    def is_fanwatch_build(self, svc):
        b = svc.get("build")
        if not isinstance(b, dict):
            return False
        ctx = os.path.normpath(os.path.join(CDIR, b.get("context", ".")))
        df = os.path.normpath(os.path.join(ctx, b.get("dockerfile", "Dockerfile")))
        return ctx == ROOT and df == os.path.join(CDIR, "Dockerfile")

    def service_env(self, name):
        """FANWATCH_* environment of a fanwatch service: image ENV, env_file, environment."""
        env = {}
        for _, instrs in dockerfile_stages(self.i.dockerfile)[-1:]:
            for instr, arg in instrs:
                if instr == "ENV":
                    for k, v in re.findall(r"(\w+)=(\S+)", arg):
                        env[k] = v
        svc = self.services[name]
        for ef in Inputs._env_file_list(svc):
            env.update(self.i.env_files.get(ef, {}))
        e = svc.get("environment") or {}
        if isinstance(e, list):
            e = dict(x.split("=", 1) for x in e)
        env.update({k: str(v) for k, v in e.items()})
        return {k: v for k, v in env.items() if k.startswith("FANWATCH_")}

    def mounts(self, name):
        """container path -> ('bind', host path) | ('volume', name) | ('secret', name)."""
        svc = self.services[name]
        out = {}
        for v in svc.get("volumes") or []:
            if isinstance(v, dict):
                src, dst, ro = v.get("source"), v.get("target"), v.get("read_only", False)
            else:
                parts = v.split(":")
                src, dst = parts[0], parts[1]
                ro = len(parts) > 2 and "ro" in parts[2].split(",")
            if src.startswith((".", "/")):
                out[dst] = ("bind", os.path.normpath(os.path.join(CDIR, src)), ro)
            else:
                out[dst] = ("volume", src, ro)
        for s in svc.get("secrets") or []:
            sname = s if isinstance(s, str) else s.get("source")
            target = sname if isinstance(s, str) else s.get("target", sname)
            if not target.startswith("/"):
                target = "/run/secrets/" + target
            out[target] = ("secret", sname, True)
        return out

    # ---- checks ----
    def check_structure(self):
        c = self.i.compose
        if "version" in c:
            self.err("compose: obsolete top-level 'version' key")
        for k in c:
            if k not in ("name", "services", "volumes", "networks", "secrets", "configs") \
                    and not k.startswith("x-"):
                self.err("compose: unknown top-level key %r" % k)
        vols = set((c.get("volumes") or {}).keys())
        nets = set((c.get("networks") or {}).keys())
        secrets = c.get("secrets") or {}
        for name, svc in self.services.items():
            if "container_name" in svc:
                self.err("service %s: container_name prevents scaling" % name)
            img = svc.get("image", "")
            if "build" in svc:
                if not self.is_fanwatch_build(svc):
                    self.err("service %s: built from something else than compose/Dockerfile" % name)
            elif ":" not in img.rsplit("/", 1)[-1] or "latest" in img.rsplit(":", 1)[1] \
                    or not re.search(r"\d", img.rsplit(":", 1)[1]):
                self.err("service %s: image %r is not a pinned tag" % (name, img))
            deps = svc.get("depends_on") or {}
            if isinstance(deps, list):
                deps = {d: {"condition": "service_started"} for d in deps}
            for d, spec in deps.items():
                if d not in self.services:
                    self.err("service %s: depends_on unknown service %s" % (name, d))
                    continue
                cond = (spec or {}).get("condition", "service_started")
                if cond not in ("service_started", "service_healthy",
                                "service_completed_successfully"):
                    self.err("service %s: depends_on %s: bad condition %s" % (name, d, cond))
                dep = self.services[d]
                if cond == "service_healthy" and "healthcheck" not in dep \
                        and not self.is_fanwatch_build(dep):
                    self.err("service %s: waits for %s to be healthy, which has no healthcheck"
                             % (name, d))
                if cond == "service_completed_successfully" and dep.get("restart") not in ("no",):
                    self.err("service %s: waits for %s to complete, which restarts" % (name, d))
                if dep.get("profiles") and not set(dep["profiles"]) <= set(svc.get("profiles") or []):
                    self.err("service %s: depends on %s, which only runs in profiles %s"
                             % (name, d, dep["profiles"]))
            for n in svc.get("networks") or []:
                if n not in nets:
                    self.err("service %s: unknown network %s" % (name, n))
            for dst, (kind, src, ro) in self.mounts(name).items():
                if kind == "volume" and src not in vols:
                    self.err("service %s: volume %s is not declared" % (name, src))
                if kind == "bind":
                    if not os.path.exists(src):
                        self.err("service %s: mounted path %s does not exist"
                                 % (name, os.path.relpath(src, ROOT)))
                    elif not src.startswith(ROOT + os.sep):
                        self.err("service %s: mounts %s, outside the repository" % (name, src))
                    if not ro:
                        self.err("service %s: configuration mount %s is not read-only" % (name, dst))
                if kind == "secret" and src not in secrets:
                    self.err("service %s: unknown secret %s" % (name, src))
            for s in svc.get("secrets") or []:
                if self.is_fanwatch_build(svc):
                    if isinstance(s, str) or str(s.get("uid")) != IMAGE_UID \
                            or str(s.get("mode")) not in ("0o400", "256", "0400", "0o600", "384"):
                        self.err("service %s: secret %s must be owned by uid %s, mode 0400"
                                 % (name, s if isinstance(s, str) else s.get("source"), IMAGE_UID))
            env_files = Inputs._env_file_list(svc)
            for ef in env_files:
                if ef not in self.i.env_files:
                    self.err("service %s: env_file %s does not exist" % (name, ef))
        for sname, spec in secrets.items():
            if "file" in spec:
                if not os.path.isfile(os.path.join(CDIR, spec["file"])):
                    self.err("secret %s: file %s does not exist" % (sname, spec["file"]))
            elif "environment" in spec:
                if spec["environment"] not in self.i.dotenv:
                    self.err("secret %s: variable %s is not set in compose/.env"
                             % (sname, spec["environment"]))
            else:
                self.err("secret %s: neither file nor environment" % sname)
        # ${VAR} interpolations must be defined in compose/.env
        text = yaml.safe_dump(self.i.compose)
        for var in re.findall(r"(?<!\$)\$\{(\w+)", text):
            if var not in self.i.dotenv:
                self.err("compose: ${%s} is not set in compose/.env" % var)
        for pat in (".git", "compose/.env"):
            if pat not in self.i.dockerignore.split():
                self.err(".dockerignore: %s is not excluded from the build context" % pat)

    def check_detector_scalable(self):
        d = self.services.get("detector")
        if d is None:
            self.err("no detector service")
            return
        if d.get("ports"):
            self.err("service detector: host ports collide when scaled")
        env = self.service_env("detector")
        for k in ("FANWATCH_KAFKA_CLIENT_ID", "FANWATCH_DETECTOR_NAME",
                  "FANWATCH_KAFKA_GROUP_INSTANCE_ID"):
            if k in env:
                self.err("service detector: %s is fixed for every instance" % k)
        if d.get("hostname"):
            self.err("service detector: a fixed hostname is shared by every instance")

    def run_daemon(self, binary, env):
        full = {"PATH": "/usr/bin:/bin"}
        full.update(env)
        p = subprocess.run([binary, "--check-config"], env=full, capture_output=True, text=True,
                           timeout=30)
        return p.returncode, (p.stdout + p.stderr).strip()

    def translated_env(self, name):
        """The service's FANWATCH_* variables with container paths mapped to repository files,
        a stand-in secret file (mode 0600) and a scratch directory for volumes."""
        env = self.service_env(name)
        mounts = self.mounts(name)
        out = {}
        for k, v in env.items():
            nv = v
            for dst, (kind, src, _) in sorted(mounts.items(), key=lambda m: -len(m[0])):
                if v == dst or v.startswith(dst.rstrip("/") + "/"):
                    if kind == "bind":
                        host = src
                    elif kind == "secret":
                        host = os.path.join(self.tmp, "secret-" + src)
                        with open(host, "w") as f:
                            f.write("stand-in\n")
                        os.chmod(host, 0o600)
                    else:
                        host = os.path.join(self.tmp, "volume-" + src)
                        os.makedirs(host, exist_ok=True)
                    nv = host + v[len(dst):] if v != dst else host
                    break
            out[k] = nv
        return env, out

    def check_daemon_env(self):
        for name, prog in FW_SERVICES.items():
            svc = self.services.get(name)
            if svc is None:
                self.err("no %s service" % name)
                continue
            cmd = svc.get("command")
            cmd = cmd if isinstance(cmd, list) else str(cmd or "").split()
            if not cmd or os.path.basename(cmd[0]) != prog:
                self.err("service %s: command %r does not run %s" % (name, cmd, prog))
            if not self.is_fanwatch_build(svc):
                self.err("service %s: not built from compose/Dockerfile" % name)
            raw, env = self.translated_env(name)
            for k in raw:
                if not k.startswith("FANWATCH_"):
                    self.err("service %s: %s is not a FANWATCH_ variable" % (name, k))
            # file-valued settings must point at something the container has
            mounts = self.mounts(name)
            for k, v in raw.items():
                if k.endswith("__FILE") or k == "FANWATCH_DETECT_RULES":
                    if k == "FANWATCH_PRODUCER_CURSOR__FILE":
                        if os.path.dirname(v) not in [d for d, m in mounts.items()
                                                      if m[0] == "volume"]:
                            self.err("service %s: %s=%s is not on a volume (lost on recreate)"
                                     % (name, k, v))
                    elif v not in mounts:
                        self.err("service %s: %s=%s is not mounted" % (name, k, v))
            rc, out = self.run_daemon(self.bin[prog], env)
            if rc != 0:
                self.err("service %s: %s --check-config rejects its environment: %s"
                         % (name, prog, out))
                continue
            # each name, misspelt, must be refused: the check really covers every variable
            for k in sorted(env) if self.thorough else []:
                bad = dict(env)
                bad[k + "X"] = bad.pop(k)
                rc, out = self.run_daemon(self.bin[prog], bad)
                # refused as an unknown key, an unknown librdkafka property (FANWATCH_KAFKA_*), or
                # for a required key, as missing
                if rc == 0 or not re.search(r"unknown key|No such configuration property|"
                                            r"is required", out):
                    self.err("service %s: %s accepted the misspelt %sX (exit %d): the check "
                             "cannot tell a wrong name" % (name, prog, k, rc))
            port = raw.get("FANWATCH_METRICS_PORT")
            hc = " ".join(str(x) for x in (svc.get("healthcheck") or {}).get("test", []))
            if not port or ("/healthz" not in hc or ":%s/" % port not in hc):
                self.err("service %s: healthcheck %r does not probe /healthz on port %s"
                         % (name, hc, port))
            if port and port not in [str(e) for e in svc.get("expose") or []]:
                self.err("service %s: metrics port %s is not exposed" % (name, port))
            if raw.get("FANWATCH_METRICS_ADDRESS") not in ("0.0.0.0", "::"):
                self.err("service %s: metrics listen on %s, unreachable for Prometheus"
                         % (name, raw.get("FANWATCH_METRICS_ADDRESS")))

    def check_topics(self):
        kafka = self.services.get("kafka", {})
        kenv = kafka.get("environment") or {}
        if str(kenv.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE")).lower() != "false":
            self.err("kafka: automatic topic creation is not off")
        for k in ("KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_CONTROLLER_QUORUM_VOTERS",
                  "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_CONTROLLER_LISTENER_NAMES"):
            if k not in kenv:
                self.err("kafka: %s is not set (KRaft single node)" % k)
        advertised = re.findall(r"//([^,]+)", str(kenv.get("KAFKA_ADVERTISED_LISTENERS", "")))
        init = self.services.get("kafka-init")
        if not init:
            self.err("no kafka-init service")
            return
        script = init.get("command")
        script = "\n".join(script) if isinstance(script, list) else str(script)
        topics = {}
        for line in script.splitlines():
            if "kafka-topics.sh" in line and "--create" in line:
                t = re.search(r"--topic\s+(\S+)", line)
                p = re.search(r"--partitions\s+(\d+)", line)
                r = re.search(r"retention\.ms=(\d+)", line)
                b = re.search(r"--bootstrap-server\s+(\S+)", line)
                if b and b.group(1) not in advertised:
                    self.err("kafka-init: bootstrap %s is not an advertised listener" % b.group(1))
                if t:
                    topics[t.group(1)] = (int(p.group(1)) if p else 0,
                                          int(r.group(1)) if r else None)
        denv = self.service_env("detector")
        penv = self.service_env("producer")
        sessions = denv.get("FANWATCH_TOPICS_SESSIONS", "arkime-sessions")
        alerts = denv.get("FANWATCH_TOPICS_ALERTS", "fanwatch-alerts")
        if penv.get("FANWATCH_TOPICS_SESSIONS", "arkime-sessions") != sessions:
            self.err("producer and detector use different sessions topics")
        for t in (sessions, alerts):
            if t not in topics:
                self.err("kafka-init does not create topic %s" % t)
        if sessions in topics:
            parts, ret = topics[sessions]
            rewind = 2 * duration_ms(denv.get("FANWATCH_DETECT_WINDOW", "5m")) + \
                duration_ms(denv.get("FANWATCH_DETECT_LATENESS", "10m"))
            if ret is None or ret < rewind:
                self.err("kafka-init: %s retention %s ms is shorter than the detector's rewind "
                         "(2 x window + lateness = %d ms)" % (sessions, ret, rewind))
            if parts < 2:
                self.err("kafka-init: %s has %d partition(s): nothing to scale over"
                         % (sessions, parts))
        for name in FW_SERVICES:
            bs = self.service_env(name).get("FANWATCH_KAFKA_BOOTSTRAP_SERVERS", "")
            for b in bs.split(","):
                if b not in advertised:
                    self.err("service %s: bootstrap %s is not an advertised listener of kafka"
                             % (name, b))

    def check_dockerfile(self):
        stages = dockerfile_stages(self.i.dockerfile)
        if len(stages) < 2:
            self.err("Dockerfile: not multi-stage")
            return
        for sname, instrs in stages:
            base = instrs[0][1].split()[0]
            if not re.match(r"debian:(12|bookworm)", base):
                self.err("Dockerfile: stage %s is not Debian 12 (%s)" % (sname, base))
        build_name, build = stages[0]
        _, runtime = stages[-1]
        runs = " ".join(a for i, a in build if i == "RUN")
        # build packages: scripts/setup's PKGS_BUILD; nothing it does not name
        lists = {m.group(1): set(re.sub(r"#[^\n]*", "", m.group(2)).split())
                 for m in re.finditer(r"^(PKGS_\w+)=\(([^)]*)\)", self.i.setup, re.M)}
        # cmocka builds the test suite, which the image leaves out (FW_TESTS=OFF)
        want = lists.get("PKGS_BUILD", set()) - {"libcmocka-dev"}
        named = set().union(*lists.values()) if lists else set()
        if not want:
            self.err("scripts/setup has no PKGS_BUILD list")
        have = set(apt_packages(runs))
        if want - have:
            self.err("Dockerfile build stage lacks scripts/setup build packages: %s"
                     % sorted(want - have))
        if have - named:
            self.err("Dockerfile build stage installs packages scripts/setup does not name: %s"
                     % sorted(have - named))
        # CMake options and targets
        mt = re.search(r"cmake --build \S+(?:\s+-j\S*)?\s+--target\s+([\w\- ]+)", runs)
        targets = set(mt.group(1).split()) if mt else set()
        cm = self.i.cmake
        exes = set()
        for p in ("producer/CMakeLists.txt", "detector/CMakeLists.txt"):
            exes |= set(re.findall(r"add_executable\((fanwatch-[\w-]+)", cm[p]))
        tested = set(re.findall(r"TARGET_FILE:(fanwatch-[\w-]+)>", cm["tests/CMakeLists.txt"]))
        if not exes or targets != exes:
            self.err("Dockerfile builds targets %s, the CMake files define %s"
                     % (sorted(targets), sorted(exes)))
        if tested - targets:
            self.err("Dockerfile does not build %s, which the tests test" % sorted(tested - targets))
        opts = set(re.findall(r"option\((\w+)", cm["CMakeLists.txt"]))
        for d in re.findall(r"-D(\w+)=", runs):
            if not d.startswith("CMAKE_") and d not in opts:
                self.err("Dockerfile: -D%s is not an option of CMakeLists.txt" % d)
        bt = re.search(r"-DCMAKE_BUILD_TYPE=(\w+)", runs)
        st = re.search(r"-DCMAKE_BUILD_TYPE=(\w+)", cm["scripts/test"])
        if not bt or not st or bt.group(1) != st.group(1):
            self.err("Dockerfile build type differs from the tested one (scripts/test)")
        # runtime stage
        copied = " ".join(a for i, a in runtime if i == "COPY" and "--from=%s" % build_name in a)
        for t in targets:
            if not re.search(r"/%s\b" % re.escape(t), copied):
                self.err("Dockerfile runtime stage does not copy %s" % t)
        if "/usr/local/bin" not in copied:
            self.err("Dockerfile: binaries are not copied to /usr/local/bin")
        users = [a for i, a in runtime if i == "USER"]
        if not users or users[-1].split(":")[0] != IMAGE_UID:
            self.err("Dockerfile: runtime does not run as uid %s" % IMAGE_UID)
        hcs = [a for i, a in runtime if i == "HEALTHCHECK"]
        if not hcs or "/healthz" not in hcs[-1]:
            self.err("Dockerfile: no HEALTHCHECK on /healthz")
        envs = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for i, a in runtime if i == "ENV")))
        exposes = " ".join(a for i, a in runtime if i == "EXPOSE").split()
        if envs.get("FANWATCH_METRICS_PORT") not in exposes:
            self.err("Dockerfile: EXPOSE does not match FANWATCH_METRICS_PORT")
        if not any(i == "COPY" and "rules.example.ini" in a and "/etc/fanwatch/" in a
                   for i, a in runtime):
            self.err("Dockerfile: the example rules are not in /etc/fanwatch/")
        rt_pkgs = set(apt_packages(" ".join(a for i, a in runtime if i == "RUN")))
        if any(p.endswith("-dev") for p in rt_pkgs) or {"build-essential", "cmake"} & rt_pkgs:
            self.err("Dockerfile: build tools in the runtime stage")
        self.check_runtime_libraries(rt_pkgs)

    def check_runtime_libraries(self, rt_pkgs):
        """Every DT_NEEDED library of the binaries comes from a package the runtime installs."""
        if not (shutil.which("readelf") and shutil.which("dpkg-query")):
            print("note: readelf or dpkg-query missing, runtime library check skipped")
            return
        for prog in self.bin.values():
            out = subprocess.run(["readelf", "-d", prog], capture_output=True, text=True).stdout
            for lib in re.findall(r"Shared library: \[([^\]]+)\]", out):
                if re.match(r"lib(asan|ubsan|tsan|lsan)\.so", lib):
                    continue  # an FW_SANITIZE=ON build's runtime, not the image's
                if lib not in LIB_PACKAGES:
                    p = subprocess.run(["dpkg-query", "-S", "*/" + lib], capture_output=True,
                                       text=True)
                    LIB_PACKAGES[lib] = {ln.split(":")[0] for ln in p.stdout.splitlines()
                                         if ":" in ln}
                pkgs = LIB_PACKAGES[lib]
                if not pkgs:
                    continue  # not from a Debian package (e.g. a sanitizer runtime)
                if not pkgs & (rt_pkgs | {"libc6"}):
                    self.err("Dockerfile runtime stage lacks %s (for %s of %s)"
                             % (" or ".join(sorted(pkgs)), lib, os.path.basename(prog)))

    def check_siem(self):
        denv = self.service_env("detector")
        alerts = denv.get("FANWATCH_TOPICS_ALERTS", "fanwatch-alerts")
        groups = []
        for name, svc in self.services.items():
            if not str(svc.get("image", "")).startswith("timberio/vector:"):
                continue
            cfg_path = None
            cmd = svc.get("command") or []
            for j, a in enumerate(cmd):
                if a == "--config" and j + 1 < len(cmd):
                    cfg_path = cmd[j + 1]
            host = self.mounts(name).get(cfg_path)
            if not host or host[0] != "bind":
                self.err("service %s: its Vector config %s is not mounted" % (name, cfg_path))
                continue
            cfg = self.i.vector.get(host[1])
            if cfg is None:
                cfg = yaml.safe_load(read(host[1]))
                self.i.vector[host[1]] = cfg
            srcs = [s for s in (cfg.get("sources") or {}).values() if s.get("type") == "kafka"]
            if not srcs:
                self.err("service %s: no kafka source" % name)
            for s in srcs:
                if alerts not in s.get("topics", []):
                    self.err("service %s: reads %s, not the alerts topic %s"
                             % (name, s.get("topics"), alerts))
                if s.get("bootstrap_servers") != denv.get("FANWATCH_KAFKA_BOOTSTRAP_SERVERS"):
                    self.err("service %s: bootstrap differs from the detector's" % name)
                groups.append(s.get("group_id"))
            ids = set(cfg.get("sources") or {}) | set(cfg.get("transforms") or {})
            for kind in ("transforms", "sinks"):
                for sid, s in (cfg.get(kind) or {}).items():
                    for inp in s.get("inputs", []):
                        if inp not in ids:
                            self.err("service %s: %s %s reads unknown input %s"
                                     % (name, kind, sid, inp))
                    if s.get("type") == "elasticsearch":
                        # the sink removes the id_key field from the document (docs/siem.md):
                        # the id must be a copy of event.id made by an upstream remap
                        key = s.get("id_key", "")
                        copied = any(re.search(r"\.%s\s*=\s*\.event\.id\b" % re.escape(key),
                                               t.get("source", ""))
                                     for tid, t in (cfg.get("transforms") or {}).items()
                                     if tid in s.get("inputs", []))
                        if key == "event.id" or not copied:
                            self.err("service %s: sink %s: document id %r is not a copy of "
                                     "event.id (id_key = event.id would strip it)"
                                     % (name, sid, key))
                    if s.get("type") == "file":
                        vol = [d for d, m in self.mounts(name).items() if m[0] == "volume"
                               and s.get("path", "").startswith(d.rstrip("/") + "/")]
                        if not vol:
                            self.err("service %s: file sink %s does not write to a volume"
                                     % (name, sid))
        if len(groups) != len(set(groups)):
            self.err("two SIEM consumers share a consumer group: each would see part of the alerts")
        props = self.i.alert_schema.get("properties", {})
        if "id" not in (props.get("event", {}).get("properties", {})):
            self.err("docs/alert.schema.json has no event.id")

    def check_metrics(self):
        prom = self.services.get("prometheus")
        if not prom:
            self.err("no prometheus service")
            return
        host = self.mounts("prometheus").get("/etc/prometheus/prometheus.yml")
        if self.i.prometheus is None and host:
            self.i.prometheus = yaml.safe_load(read(host[1]))
        cfg = self.i.prometheus or {}
        targets = set()
        for job in cfg.get("scrape_configs", []):
            for sc in job.get("static_configs", []):
                targets |= set(sc.get("targets", []))
            for dns in job.get("dns_sd_configs", []):
                targets |= {"%s:%s" % (n, dns.get("port")) for n in dns.get("names", [])}
        for name in FW_SERVICES:
            port = self.service_env(name).get("FANWATCH_METRICS_PORT")
            if "%s:%s" % (name, port) not in targets:
                self.err("prometheus does not scrape %s:%s" % (name, port))
        gm = self.mounts("grafana")
        prov = next((m[1] for d, m in gm.items() if d == "/etc/grafana/provisioning"), None)
        if not prov:
            self.err("grafana: provisioning is not mounted")
            return
        if self.i.grafana_ds is None:
            self.i.grafana_ds = yaml.safe_load(read(os.path.join(prov, "datasources",
                                                                 "prometheus.yml")))
            self.i.grafana_prov = yaml.safe_load(read(os.path.join(prov, "dashboards",
                                                                   "fanwatch.yml")))
        uids = {d.get("uid") for d in self.i.grafana_ds.get("datasources", [])}
        dash_dirs = {p["options"]["path"] for p in self.i.grafana_prov.get("providers", [])}
        for d in dash_dirs:
            m = gm.get(d)
            if not m or not os.path.isfile(os.path.join(m[1], "fanwatch.json")):
                self.err("grafana: dashboard directory %s does not hold fanwatch.json" % d)
        queried = set()
        for p in self.i.dashboard.get("panels", []):
            for t in p.get("targets", []):
                if (t.get("datasource") or {}).get("uid") not in uids:
                    self.err("dashboard panel %r: unknown datasource" % p.get("title"))
                for mname in re.findall(r"fanwatch_[a-z0-9_]+", t.get("expr", "")):
                    base = re.sub(r"_(bucket|sum|count)$", "", mname)
                    queried.add(base)
                    if mname not in self.i.c_metrics and base not in self.i.c_metrics:
                        self.err("dashboard panel %r queries %s, which no daemon exports"
                                 % (p.get("title"), mname))
        if len(queried) < 10:
            self.err("dashboard queries only %d fanwatch metrics" % len(queried))

    def check_sample_pcap(self):
        gen = load_module(os.path.join(CDIR, "arkime", "make_sample_pcap.py"), "make_sample_pcap")
        data = gen.pcap_bytes()
        path = os.path.join(CDIR, "pcap", "sample.pcap")
        if not os.path.isfile(path) or read_bytes(path) != data:
            self.err("compose/pcap/sample.pcap differs from make_sample_pcap.py's output")
        # every frame has valid IPv4 and TCP checksums
        off, n = 24, 0
        while off < len(data):
            ts, us, caplen, length = __import__("struct").unpack_from("<IIII", data, off)
            frame = data[off + 16:off + 16 + caplen]
            off += 16 + caplen
            n += 1
            ip = frame[14:34]
            if gen._csum(ip) != 0:
                self.err("sample.pcap: bad IPv4 checksum in frame %d" % n)
            tcp = frame[34:]
            if gen._csum(ip[12:20] + bytes([0, 6]) + len(tcp).to_bytes(2, "big") + tcp) != 0:
                self.err("sample.pcap: bad TCP checksum in frame %d" % n)
        if n < 100:
            self.err("sample.pcap: only %d frames" % n)

    def run(self):
        for f in (self.check_structure, self.check_detector_scalable, self.check_daemon_env,
                  self.check_topics, self.check_dockerfile, self.check_siem, self.check_metrics,
                  self.check_sample_pcap):
            try:
                f()
            except Exception as e:  # a crash in a check is a failure too, with its cause
                self.err("%s: %s: %s" % (f.__name__, type(e).__name__, e))
        return self.errors


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# Deliberate mistakes, each applied to a copy of the inputs; the checks must report every one.
def _set_env(env_name, key, value):
    def m(i):
        i.env_files[env_name][key] = value
    return m


def _rename_env(env_name, key, new):
    def m(i):
        i.env_files[env_name][new] = i.env_files[env_name].pop(key)
    return m


MUTATIONS = [
    ("misspelt producer key", _rename_env("producer.env", "FANWATCH_ARKIME_USER",
                                          "FANWATCH_ARKIME_USERNAME"), "unknown key"),
    ("single-underscore _FILE", _rename_env("producer.env", "FANWATCH_ARKIME_PASSWORD__FILE",
                                            "FANWATCH_ARKIME_PASSWORD_FILE"), "unknown key"),
    ("misspelt detector key", _rename_env("detector.env", "FANWATCH_DETECT_WINDOW",
                                          "FANWATCH_DETECT_WINDOWS"), "unknown key"),
    ("bad detector value", _set_env("detector.env", "FANWATCH_DETECT_LATENESS", "2d"),
     "rejects its environment"),
    ("bad librdkafka property", _set_env("detector.env", "FANWATCH_KAFKA_LINGER_MSEC", "5"),
     "rejects its environment"),
    ("fixed client id", _set_env("detector.env", "FANWATCH_KAFKA_CLIENT_ID", "det-1"),
     "fixed for every instance"),
    ("container_name on detector",
     lambda i: i.compose["services"]["detector"].__setitem__("container_name", "det"),
     "container_name"),
    ("host port on detector",
     lambda i: i.compose["services"]["detector"].__setitem__("ports", ["9108:9108"]),
     "host ports"),
    ("unknown dependency",
     lambda i: i.compose["services"]["producer"]["depends_on"].__setitem__(
         "zookeeper", {"condition": "service_started"}), "unknown service"),
    ("missing mounted file",
     lambda i: i.compose["services"]["detector"]["volumes"].__setitem__(
         0, "../detector/rules.missing.ini:/etc/fanwatch/rules.ini:ro"), "does not exist"),
    ("writable config mount",
     lambda i: i.compose["services"]["detector"]["volumes"].__setitem__(
         0, "../detector/rules.example.ini:/etc/fanwatch/rules.ini"), "not read-only"),
    ("undeclared volume",
     lambda i: i.compose["volumes"].pop("producer-state"), "not declared"),
    ("floating image tag",
     lambda i: i.compose["services"]["kafka"].__setitem__("image", "apache/kafka:latest"),
     "not a pinned tag"),
    ("secret readable by others",
     lambda i: i.compose["services"]["producer"]["secrets"][0].__setitem__("mode", "0o444"),
     "mode 0400"),
    ("short retention",
     lambda i: i.compose["services"]["kafka-init"].__setitem__(
         "command", [i.compose["services"]["kafka-init"]["command"][0].replace(
             "retention.ms=86400000", "retention.ms=600000")]), "shorter than the detector"),
    ("auto topic creation",
     lambda i: i.compose["services"]["kafka"]["environment"].__setitem__(
         "KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true"), "not off"),
    ("Dockerfile target missing",
     lambda i: setattr(i, "dockerfile", i.dockerfile.replace(" fanwatch-replay\n", "\n", 1)),
     "CMake files define"),
    ("Dockerfile runs as root",
     lambda i: setattr(i, "dockerfile", i.dockerfile.replace("USER 10001:10001", "USER root")),
     "uid 10001"),
    ("Dockerfile lacks a build package",
     lambda i: setattr(i, "dockerfile", i.dockerfile.replace(" libxxhash-dev", "", 1)),
     "lacks scripts/setup build packages"),
    ("runtime lacks a library",
     lambda i: setattr(i, "dockerfile", i.dockerfile.replace(" libjansson4", "", 1)),
     "lacks libjansson4"),
    ("unknown metric in dashboard",
     lambda i: i.dashboard["panels"][1]["targets"][0].__setitem__(
         "expr", "rate(fanwatch_detector_sesions_total[1m])"), "no daemon exports"),
    ("alerts read from the wrong topic",
     lambda i: i.vector.setdefault(os.path.join(CDIR, "vector", "alerts-file.yaml"), yaml.safe_load(
         read(os.path.join(CDIR, "vector", "alerts-file.yaml"))))["sources"]["alerts"].__setitem__(
         "topics", ["alerts"]), "not the alerts topic"),
    ("OpenSearch id strips event.id",
     lambda i: i.vector.setdefault(os.path.join(CDIR, "vector", "alerts-opensearch.yaml"),
                                   yaml.safe_load(read(os.path.join(CDIR, "vector",
                                                                    "alerts-opensearch.yaml"))))
     ["sinks"]["opensearch"].__setitem__("id_key", "event.id"), "not a copy of event.id"),
    ("metrics port mismatch", _set_env("detector.env", "FANWATCH_METRICS_PORT", "9200"),
     "does not probe /healthz"),
]


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binaries = {"fanwatch-producer": os.path.abspath(sys.argv[1]),
                "fanwatch-detector": os.path.abspath(sys.argv[2])}
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Inputs()
        errors = Checker(copy.deepcopy(base), binaries, tmp).run()
        for e in errors:
            print("FAIL:", e)
        failures += len(errors)
        if not errors:
            print("ok: compose/ passes every check")
        for label, mutate, expect in MUTATIONS:
            inp = copy.deepcopy(base)
            mutate(inp)
            errs = Checker(inp, binaries, tmp, thorough=False).run()
            if any(expect in e for e in errs):
                hit = next(e for e in errs if expect in e)
                print("ok: mistake '%s' is caught: %s" % (label, hit[:160]))
            else:
                failures += 1
                print("FAIL: mistake '%s' is not caught (want %r), got: %s" % (label, expect, errs))
    print("check_compose: %d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
