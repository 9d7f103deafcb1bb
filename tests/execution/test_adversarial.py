"""Hostile programs in py, js, cpp and java: each ends with the right status within
its limit, leaves no process behind, and the engine keeps serving afterwards.

The Python cases run in the default suite; all four languages under `slow`.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.execution.conftest import require
from xlt.execution import Executor, Job
from xlt.execution import types as T

TIMEOUT_S = (
    5.0  # wall-clock limit of the hostile runs (small for speed; a JVM fills 1 GiB in ~3 s here)
)
SLACK_S = 6.0  # start-up (JVM) and clean-up on a loaded 2-core machine
SECRET = "xlt-test-secret-4f1c"
LEFTOVER = "4242.25"  # sleep duration marking a child meant to outlive its parent

# A program passes (exit 0) only if the attack WORKED; `status` is what the sandbox must produce.
ATTACKS = {
    "infinite_loop": {
        "status": {T.TIMEOUT},
        "py": "while True:\n    pass\n",
        "js": "for (;;) {}\n",
        "cpp": "int main() { volatile long x = 0; for (;;) x++; }\n",
        "java": "class Problem { public static void main(String[] a) { long x = 0; while (true) x++; } }\n",
    },
    "fork_bomb": {
        "status": {T.RUNTIME_ERROR, T.TIMEOUT, T.MEMORY_LIMIT},
        "py": "import os\nwhile True:\n    os.fork()\n",
        "js": "const {spawn} = require('child_process');\nfor (;;) { spawn(process.execPath, [__filename]); }\n",
        "cpp": "#include <unistd.h>\nint main() { for (;;) fork(); }\n",
        "java": "class Problem { public static void main(String[] a) throws Exception {\n"
        "  while (true) { new Thread(() -> { try { Thread.sleep(100000); } catch (Exception e) {} }).start(); } } }\n",
    },
    "memory_hog": {
        "status": {T.MEMORY_LIMIT},
        "py": "blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))\n",
        "js": "const a = [];\nfor (;;) { a.push(new Array(1 << 20).fill(1.5)); }\n",
        "cpp": "#include <vector>\n#include <cstring>\nint main() { std::vector<char*> v; for (;;) { char* p = new char[64 << 20]; std::memset(p, 1, 64 << 20); v.push_back(p); } }\n",
        "java": "import java.util.*;\nclass Problem { public static void main(String[] a) { List<long[]> l = new ArrayList<>(); while (true) l.add(new long[1 << 24]); } }\n",
    },
    "unbounded_output": {
        "status": {T.OUTPUT_LIMIT},
        "py": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
        "js": "const s = 'x'.repeat(65536);\nfor (;;) { process.stdout.write(s); }\n",
        "cpp": '#include <cstdio>\nint main() { for (;;) std::fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", stdout); }\n',
        "java": 'class Problem { public static void main(String[] a) { String s = "x".repeat(65536); while (true) System.out.print(s); } }\n',
    },
    "stderr_flood": {  # fills stderr past file_size_mb; Python's failing writes then exit 1
        "status": {T.OUTPUT_LIMIT},
        "py": "import sys\nwhile True:\n    sys.stderr.write('x' * 65536)\n",
        "js": "const s = 'x'.repeat(65536);\nfor (;;) { process.stderr.write(s); }\n",
        "cpp": '#include <cstdio>\nint main() { for (;;) std::fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", stderr); }\n',
        "java": 'class Problem { public static void main(String[] a) { String s = "x".repeat(65536); while (true) System.err.print(s); } }\n',
    },
    "outliving_child": {  # the program itself passes; its detached child must not survive
        "status": {T.OK},
        "py": f"import subprocess\nsubprocess.Popen(['sleep', '{LEFTOVER}'], start_new_session=True)\n",
        "js": f"require('child_process').spawn('sleep', ['{LEFTOVER}'], {{detached: true, stdio: 'ignore'}}).unref();\n",
        "cpp": f'#include <unistd.h>\nint main() {{ if (fork() == 0) {{ setsid(); execlp("sleep", "sleep", "{LEFTOVER}", (char*)0); }} return 0; }}\n',
        "java": f'class Problem {{ public static void main(String[] a) throws Exception {{ new ProcessBuilder("setsid", "sleep", "{LEFTOVER}").start(); System.exit(0); }} }}\n',
    },
    "network": {  # {port}: a listening socket on the host's loopback
        "status": {T.RUNTIME_ERROR},
        "py": "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n",
        "js": "const s = require('net').connect({port}, '127.0.0.1', () => process.exit(0));\ns.on('error', () => process.exit(1));\n",
        "cpp": '#include <arpa/inet.h>\n#include <sys/socket.h>\nint main() { int s = socket(AF_INET, SOCK_STREAM, 0); sockaddr_in a{}; a.sin_family = AF_INET; a.sin_port = htons({port}); inet_pton(AF_INET, "127.0.0.1", &a.sin_addr); return connect(s, (sockaddr*)&a, sizeof a) == 0 ? 0 : 1; }\n',
        "java": 'class Problem { public static void main(String[] a) throws Exception { new java.net.Socket("127.0.0.1", {port}).close(); } }\n',
    },
    "write_outside": {  # {target}: a file in a folder only the test's user may write
        "status": {T.RUNTIME_ERROR},
        "py": "open('{target}', 'w').write('pwned')\n",
        "js": "require('fs').writeFileSync('{target}', 'pwned');\n",
        "cpp": '#include <cstdio>\nint main() { FILE* f = std::fopen("{target}", "w"); return f ? 0 : 1; }\n',
        "java": 'class Problem { public static void main(String[] a) throws Exception { java.nio.file.Files.writeString(java.nio.file.Path.of("{target}"), "pwned"); } }\n',
    },
    "secret_env": {  # passes only if no variable holds the secret
        "status": {T.OK},
        "py": f"import os\nassert not any('{SECRET}' in v for v in os.environ.values())\nprint(sorted(os.environ))\n",
        "js": f"if (Object.values(process.env).some(v => v.includes('{SECRET}'))) process.exit(1);\n",
        "cpp": f'#include <cstring>\nextern char** environ;\nint main() {{ for (char** e = environ; *e; ++e) if (std::strstr(*e, "{SECRET}")) return 1; return 0; }}\n',
        "java": f'class Problem {{ public static void main(String[] a) {{ for (String v : System.getenv().values()) if (v.contains("{SECRET}")) System.exit(1); }} }}\n',
    },
    "closed_stdout": {
        "status": {T.OK},
        "py": "import os\nos.close(1)\nos.close(2)\n",
        "js": "require('fs').closeSync(1);\nrequire('fs').closeSync(2);\n",
        "cpp": "#include <unistd.h>\nint main() { close(1); close(2); return 0; }\n",
        "java": "class Problem { public static void main(String[] a) { System.out.close(); System.err.close(); } }\n",
    },
    "blocking_stdin": {  # stdin is /dev/null in tests mode: reads end at once
        "status": {T.OK},
        "py": "import sys\nsys.stdin.read()\n",
        "js": "require('fs').readFileSync(0);\n",
        "cpp": "#include <iostream>\n#include <string>\nint main() { std::string s; while (std::getline(std::cin, s)) {} }\n",
        "java": "class Problem { public static void main(String[] a) throws Exception { while (System.in.read() != -1) {} } }\n",
    },
}


def _leftover_processes() -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if LEFTOVER.encode() in handle.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def _live_processes_of(uids: set) -> list[int]:
    """Processes (zombies excepted: they hold nothing and wait for init to reap them)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid not in uids:
                continue
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in (b"Z", b"X"):
            found.append(int(pid))
    return found


def run_attacks(executor, languages, tmp_path, monkeypatch):
    require(*languages)
    if not executor.sandbox.drop_privileges:
        pytest.skip("needs root: without a separate uid the program may write where the caller can")
    monkeypatch.setenv("XLT_TEST_TOKEN", SECRET)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    guarded = tmp_path / "guarded"
    guarded.mkdir(mode=0o700)
    target = guarded / "pwned.txt"
    jobs = []
    for attack, spec in ATTACKS.items():
        for code in languages:
            program = (
                spec[code]
                .replace("{port}", str(server.getsockname()[1]))
                .replace("{target}", str(target))
            )
            jobs.append(Job(code, program, timeout_s=TIMEOUT_S, id=f"{attack}:{code}"))
    try:
        start = time.perf_counter()
        results = executor.run(jobs)
        elapsed = time.perf_counter() - start
        with pytest.raises(OSError):  # nothing reached the host's loopback
            server.accept()
    finally:
        server.close()
    wrong = {
        r.id: (r.status, r.stderr[:300])
        for r in results
        if r.status not in ATTACKS[r.id.split(":")[0]]["status"]
    }
    assert not wrong, wrong
    slow = {
        r.id: round(r.compile_s + r.run_s, 1)
        for r in results
        if r.compile_s + r.run_s > TIMEOUT_S + SLACK_S
    }
    assert not slow, slow
    assert not target.exists()
    assert not _leftover_processes()
    uids = {executor.sandbox.uid(slot) for slot in range(executor.workers)}
    assert not _live_processes_of(uids)
    # The engine keeps serving.
    (after,) = executor.run([Job("py", "assert 2 + 2 == 4  # after the attacks\n")])
    assert after.status == T.OK
    return elapsed


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    # 256 MB: the memory hogs reach the limit in well under a second even on a loaded machine.
    cache = tmp_path_factory.mktemp("adversarial")
    with Executor(
        workers=2, heavy_workers=2, memory_mb=256, cache_dir=cache, use_cache=False
    ) as ex:
        yield ex


def test_hostile_python_programs_are_contained(tight, tmp_path, monkeypatch):
    run_attacks(tight, ["py"], tmp_path, monkeypatch)


@pytest.mark.slow
def test_hostile_programs_in_js_cpp_java_are_contained(tight, tmp_path, monkeypatch):
    run_attacks(tight, ["js", "cpp", "java"], tmp_path, monkeypatch)


# --- statuses a program must not be able to steer ---------------------------------------

NOISE = "w" * 70_000  # more than output_limit_bytes: what the result keeps of stderr

# Each program fails a test (or runs out of memory) and then tries to make it look otherwise.
HIDDEN_FAILURES = {
    # console.assert prints "Assertion failed" and exits 0: the marker is the only sign.
    "js-truncated": ("js", "console.assert(1 === 2);\nrequire('fs').ftruncateSync(2, 0);\n"),
    "js-overwritten": (
        "js",
        "console.assert(1 === 2);\nrequire('fs').writeSync(2, ' '.repeat(99), 0);\n",
    ),
    "js-buried": ("js", f"process.stderr.write('{NOISE}\\n');\nconsole.assert(1 === 2);\n"),
    # MultiPL-E Perl fails on "ERROR" in the output, whatever the exit status.
    "pl-buried": ("pl", f'print "{NOISE}\\n";\nprint "ERROR\\n";\n'),
}


@pytest.mark.parametrize("name", sorted(HIDDEN_FAILURES))
def test_a_failure_marker_cannot_be_truncated_overwritten_or_buried(executor, name):
    language, program = HIDDEN_FAILURES[name]
    require(language)
    (result,) = executor.run([Job(language, program, timeout_s=TIMEOUT_S, id=name)])
    assert result.status == T.RUNTIME_ERROR, (result.status, result.stderr[-300:])


MEMORY_HOGS = {
    # V8's heap report comes after 70 kB of the program's own stderr.
    "after-noise": f"process.stderr.write('{NOISE}\\n');\nconst a = [];\nfor (;;) {{ a.push(new Array(1 << 20).fill(1.5)); }}\n",
    # Buffers live outside V8's heap: the address-space limit stops them (a RangeError).
    "array-buffers": "const a = [];\nfor (;;) { a.push(Buffer.alloc(64 << 20, 1)); }\n",
}


@pytest.mark.parametrize("name", sorted(MEMORY_HOGS))
def test_node_memory_exhaustion_is_a_memory_limit(tight, name):
    require("js")
    (result,) = tight.run([Job("js", MEMORY_HOGS[name], timeout_s=TIMEOUT_S, id=name)])
    assert result.status == T.MEMORY_LIMIT, (result.status, result.stderr[-300:])


# --- io mode: expected outputs out of the program's reach ---------------------------------

# Finds the judge's `--input` in /proc/*/cmdline (world-readable) and prints the expected
# output of its own job from that file.
READ_THE_ANSWER = """import json, os
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')
        lines = open(argv[argv.index(b'--input') + 1]).read().splitlines()
    except (OSError, ValueError, IndexError):
        continue
    for line in lines:
        job = json.loads(line)
        if job['id'] == 'cheat':
            print(job['cases'][0]['expected'])
            raise SystemExit
"""


def test_io_expected_outputs_are_not_reachable_from_the_program(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root: without a separate uid the program reads what the caller can")
    secret = f"answer-{os.getpid()}-{time.time_ns()}"  # not guessable by the program
    job = {"id": "cheat", "language": "py", "program": READ_THE_ANSWER, "mode": "io",
           "cases": [{"stdin": "", "expected": secret}]}  # fmt: skip
    # Where a dataset usually lies: a world-readable file in world-traversable folders.
    shared = Path(tempfile.mkdtemp(prefix="xlt-test-jobs-", dir="/var/tmp"))
    try:
        shared.chmod(0o755)
        jobs = shared / "jobs.jsonl"
        jobs.write_text(json.dumps(job) + "\n")
        jobs.chmod(0o644)
        out = tmp_path / "results.jsonl"
        command = [sys.executable, "-m", "xlt.execution", "run", "--output", str(out),
                   "--cache-dir", str(tmp_path / "cache"), "--workers", "1"]  # fmt: skip
        by_path = subprocess.run(
            [*command, "--input", str(jobs)], capture_output=True, text=True, timeout=120
        )
        # Refused before anything runs, with the fix in the message.
        assert by_path.returncode == 2 and "readable by sandboxed programs" in by_path.stderr, (
            by_path
        )
        assert not out.exists() or "ok" not in out.read_text()
        # On stdin no path is on any command line: the program finds nothing to read.
        by_stdin = subprocess.run([*command, "--input", "-"], input=jobs.read_text(), capture_output=True,
                                  text=True, timeout=120)  # fmt: skip
        assert by_stdin.returncode == 0, by_stdin.stderr
        (result,) = [json.loads(line) for line in out.read_text().splitlines()]
        assert result["status"] == T.WRONG_ANSWER and secret not in result["stdout"], result
    finally:
        shutil.rmtree(shared, ignore_errors=True)
