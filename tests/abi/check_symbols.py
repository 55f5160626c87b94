#!/usr/bin/env python3
"""ABI guard for libcdpcore.so.

1. Every C symbol listed in exported_symbols.txt is still exported: the list
   only grows (add a _v2 instead of removing or changing a function).
2. Nothing but the C ABI is exported: every exported symbol starts with cdp_.
   No C++ symbol (the C++ API is in the static library; its symbols are not
   part of the shared library's contract) and no dependency's symbol (SQLite,
   OpenSSL, ...) leaks out.

Usage: check_symbols.py LIB LIST [--update]
  --update rewrites LIST with the current exported cdp_ symbols (only ever
  adding, never removing).
"""
import subprocess
import sys


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "TDBRVWiu":
            syms.add(parts[2].split("@")[0])
    return syms


def main():
    lib, listing = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv[3:]
    syms = exported(lib)
    c_syms = {s for s in syms if not s.startswith("_Z")}
    cxx_syms = syms - c_syms
    try:
        with open(listing) as f:
            recorded = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    except FileNotFoundError:
        recorded = set()
    problems = []
    missing = sorted(recorded - c_syms)
    if missing:
        problems.append("symbols exported before are gone: " + ", ".join(missing))
    foreign_c = sorted(s for s in c_syms if not s.startswith("cdp_") and s not in ("_init", "_fini", "_edata", "_end", "__bss_start"))
    if foreign_c:
        problems.append("exported C symbols without the cdp_ prefix: " + ", ".join(foreign_c[:20]))
    if cxx_syms:
        problems.append(f"{len(cxx_syms)} C++ symbols exported, e.g. " + ", ".join(sorted(cxx_syms)[:5]))
    new = sorted((c_syms - recorded) & {s for s in c_syms if s.startswith("cdp_")})
    if update:
        with open(listing, "w") as f:
            f.write("# Exported C symbols of libcdpcore. This list only grows; see tests/abi/check_symbols.py.\n")
            for s in sorted(recorded | set(new)):
                f.write(s + "\n")
        print(f"abi: list updated, {len(new)} symbols added")
    if problems:
        for p in problems:
            print("abi: FAIL: " + p)
        print(f"abi: 0 passed, {len(problems)} failed")
        return 1
    if new and not update:
        print(f"abi: note: {len(new)} new exported symbols not yet in the list (run with --update): " + ", ".join(new[:10]))
    print(f"abi: {len(c_syms)} C symbols exported, no C++ symbol; {len(recorded)} recorded all present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
