#!/usr/bin/env python3
"""The component graph as declared in CMakeLists.txt is the graph of the code.

The compiler already rejects an include of another component's private header
(each component has its own include root; see cmake/Components.cmake). This
check closes what an include root cannot see and keeps the declarations true:

1. No quote include climbs out of its folder ("../"), which would bypass the
   include roots.
2. Every component includes something of each dependency it declares (a
   public header the dependency owns, or one of its interface headers): the
   declared graph lists no more than the code uses.
3. Every cross-component include names a declared dependency (direct or
   through the closure), so the declarations list no less either.

Usage: check_boundaries.py SOURCE_DIR
"""
import pathlib
import re
import sys

# Public headers owned by a component other than the one they are named after.
PUBLIC_OWNER = {
    "bitmap": "util", "error": "util", "hash": "util", "time": "util", "utf8": "util",
    "version": "util", "tcf": "consent", "cdpcore": None,
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def components(root):
    text = (root / "CMakeLists.txt").read_text()
    out = {}
    for m in re.finditer(r"cdpcore_component\((\w+)([^)]*)\)", text):
        name, args = m.group(1), m.group(2).split()
        deps, mode = [], None
        for a in args:
            if a in ("DEPENDS", "INTERFACE"):
                mode = a
            elif mode == "DEPENDS" and a.startswith("${"):
                deps.extend(n for n in out if n != "datagen")  # every component declared before
            elif mode == "DEPENDS":
                deps.append(a)
        out[name] = deps
    return out


def owner_of(include, names):
    """The component an include belongs to, or None for the standard library."""
    if include.startswith("cdpcore/c/") or include == "cdpcore/cdpcore.h":
        return "capi"
    m = re.match(r"cdpcore/(\w+)\.hpp$", include)
    if m:
        stem = m.group(1)
        return PUBLIC_OWNER.get(stem, stem if stem in names else None)
    first = include.split("/")[0]
    return first if "/" in include and first in names else None


def main():
    root = pathlib.Path(sys.argv[1])
    comps = components(root)
    names = set(comps)
    closure = {}
    for name, deps in comps.items():  # declared in dependency order
        c = set(deps)
        for d in deps:
            c |= closure.get(d, set())
        closure[name] = c
    problems = []
    used = {n: set() for n in names}
    includes = 0
    for name in names:
        folder = root / "src" / name
        for f in sorted(folder.rglob("*")):
            if f.suffix not in (".cpp", ".hpp", ".h", ".c"):
                continue
            rel = f.relative_to(root)
            for inc in INCLUDE.findall(f.read_text()):
                includes += 1
                if inc.startswith("../") or "/../" in inc:
                    problems.append(f"{rel}: #include \"{inc}\" climbs out of its folder")
                    continue
                o = owner_of(inc, names)
                if o is None or o == name:
                    continue
                if o == "capi" and name != "capi":
                    problems.append(f"{rel}: #include \"{inc}\": only capi uses the C ABI's headers")
                    continue
                used[name].add(o)
                if o != "capi" and o not in closure[name]:
                    problems.append(f"{rel}: #include \"{inc}\" uses {o}, not a declared dependency of {name}")
    for name, deps in comps.items():
        for d in deps:
            if d not in used[name]:
                problems.append(f"component {name} declares DEPENDS {d} but includes nothing of it")
    for p in problems:
        print("architecture: FAIL: " + p)
    declared = sum(len(d) for d in comps.values())
    print(f"architecture: {len(comps)} components, {declared} declared dependencies, {includes} includes checked; "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
