"""The strict judge (`judge="strict"`, on for RL rewards): a `tests`-mode program passes
only if its tests ran to their end, shown by a completion marker.

MultiPL-E's rules (the default, `judge="multipl-e"`) read the exit status and a few
output markers, so a completion passes by exiting 0 before the tests (`sys.exit(0)`,
`process.exit(0)`, `exit(0)`, `System.exit(0)`, a Go `init` or `TestMain`), by a hook
that turns a failure into status 0 (atexit, `sys.excepthook`, a JVM shutdown hook, an
uncaught-exception handler), or by disarming the helpers the tests call (`#define
assert`, `console.assert = ...`). RL learns such holes; benchmark scores must keep
MultiPL-E's verdicts, so only RL turns this on.

Per job, the runner draws a fresh random marker and appends a trailer to the program
(after the tests, in the same program): it prints the marker only when control comes
back from the tests normally and the test helpers are the runtime's own. The verdict is
`ok` only if MultiPL-E's rules pass and the marker is in the output. A program cannot
guess the marker (128 random bits, new for every run, not in the cache key; strict
verdicts are cached under a key of their own).

What it does not stop: the marker is in the program's own source or binary, which the
program can read (`open(__file__)`, `/proc/self/exe`, its memory). A program that
looks for the judge's marker and prints it forges a pass; so does one that calls the
trailer's hidden entry points (`__real_exit`, a fake `require` that hands the trailer
the real `assert`). Those are deliberate, judge-aware attacks, not the generic early
exits and hooks above; check samples of passing RL programs for them.

One table entry per language; languages without one are judged by MultiPL-E's rules
(a warning says so once).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

JUDGES = ("multipl-e", "strict")
PRELOAD_VAR = "strict_preload"  # argv value: the path of a preload file the runner writes


def new_marker() -> str:
    """Unguessable and fresh per run: a cached or earlier marker says nothing of the next."""
    return f"xlt-done-{secrets.token_hex(16)}"


@dataclass(frozen=True)
class Seal:
    """How one language proves its tests finished.

    trailer(marker, main_class) -> source appended after the program's tests.
    compile_args: appended to the compile argv. run_flags: inserted after the run
    argv's first word ({strict_preload} is the preload file); run_args: appended to it.
    preload: the preload file's text.
    main_class: the class the run starts instead of the program's (Java)."""

    trailer: Callable[[str, str], str]
    compile_args: tuple[str, ...] = ()
    run_flags: tuple[str, ...] = ()
    run_args: tuple[str, ...] = ()
    preload: str = ""
    main_class: str | None = None


def _python(marker: str, _: str) -> str:
    # Module level, after the tests: not reached when they raise or the program exits.
    return f"\n\nimport os as _xlt_os\n_xlt_os.write(1, b'\\n{marker}\\n')\n"


# Runs before the program (`node --require`): the helpers the tests call become
# read-only, so `console.assert = () => {}` or `require("assert").deepEqual = ...`
# change nothing, and a program cannot swap the global console or the module loader.
_NODE_PRELOAD = """\
"use strict";
const assert = require("assert");
const Module = require("module");
for (const helper of [assert, assert.strict]) Object.freeze(helper);
const locked = { writable: false, configurable: false };
Object.defineProperty(console, "assert", locked);
Object.defineProperty(globalThis, "console", { value: console, ...locked });
Object.defineProperty(globalThis, "__xltAssert", { value: assert, ...locked });
Object.defineProperty(Module.prototype, "require", locked);
Object.defineProperty(Module, "_load", locked);
"""


def _node(marker: str, _: str) -> str:
    # A `let console` or rebound `require` in the program's scope would dodge the preload:
    # the trailer sees the same scope as the tests, so it checks both.
    return (
        '\n;if (console === globalThis.console && require("assert") === globalThis.__xltAssert)'
        f' require("fs").writeSync(1, "\\n{marker}\\n");\n'
    )


def _cpp(marker: str, _: str) -> str:
    # A static object's destructor runs after main returns, and also on exit(): the
    # link wraps exit() (`--wrap=exit`) to tell the two apart. _exit, quick_exit, a
    # signal or abort skip destructors. `assert` must still be glibc's macro calling
    # glibc's __assert_fail (not redefined, disarmed by NDEBUG or interposed).
    return f"""
#include <cstring>
#include <dlfcn.h>
#include <unistd.h>
#define XLT_STR2(...) #__VA_ARGS__
#define XLT_STR(...) XLT_STR2(__VA_ARGS__)
namespace xlt_strict {{
static bool exit_called = false;
static bool helpers_intact() {{
#if defined(assert) && !defined(main) && !defined(exit)
    if (!std::strstr(XLT_STR(assert(0)), "__assert_fail")) return false;
    void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    return libc != nullptr && dlsym(libc, "__assert_fail") == (void*)&__assert_fail;
#else
    return false;
#endif
}}
struct Marker {{
    ~Marker() {{
        static const char text[] = "\\n{marker}\\n";
        if (!exit_called && helpers_intact()) (void)!::write(1, text, sizeof text - 1);
    }}
}} marker;
}}
extern "C" void __real_exit(int);
extern "C" void __wrap_exit(int code) {{
    xlt_strict::exit_called = true;
    __real_exit(code);
}}
"""


JAVA_MAIN = "XltStrictMain"


def _java(marker: str, main_class: str) -> str:
    # The run starts this class: the marker follows a normal return of the program's
    # main; System.exit, halt or an exception (whatever handler catches it) skip it.
    return f"""

class {JAVA_MAIN} {{
    public static void main(String[] args) throws Throwable {{
        {main_class}.main(args);
        System.out.flush();
        java.io.FileOutputStream out = new java.io.FileOutputStream(java.io.FileDescriptor.out);
        out.write("\\n{marker}\\n".getBytes());
        out.flush();
    }}
}}
"""


def _go(marker: str, _: str) -> str:
    # The judge's TestMain: prints after every test passed. A program's own TestMain
    # (which can skip the tests or force status 0) no longer compiles. println writes
    # to stderr and needs no import (imports cannot follow the tests). The test binary
    # runs directly (xlt.languages), so its output is seen without -v.
    return f"""

func TestMain(m *testing.M) {{
	if m.Run() == 0 {{
		println("{marker}")
	}}
}}
"""


SEALS: dict[str, Seal] = {
    "py": Seal(_python),
    "js": Seal(_node, run_flags=("--require", "{strict_preload}"), preload=_NODE_PRELOAD),
    "cpp": Seal(_cpp, compile_args=("-Wl,--wrap=exit",)),
    "java": Seal(_java, main_class=JAVA_MAIN),
    "go": Seal(_go),
}

_warned: set[str] = set()


def seal_for(language: str) -> Seal | None:
    """The language's seal, or None (then MultiPL-E's rules judge it; warned once)."""
    seal = SEALS.get(language)
    if seal is None and language not in _warned:
        _warned.add(language)
        log.warning("strict judge: no completion marker for %s; MultiPL-E's rules apply", language)
    return seal
