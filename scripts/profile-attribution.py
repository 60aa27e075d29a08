"""Reads `perf script` output (a profile recorded with --call-graph dwarf) on stdin and prints
where the samples went by module: each sample goes to the module of its innermost Swift frame
(Storefront's own, grpc-swift's, SwiftNIO's, ...), so time in retain/release, malloc or the
runtime is charged to the Swift code that called it. Then the Swift functions that most often
ask the runtime for generic metadata, and the innermost Swift functions overall.

    perf script -i perf.data | python3 scripts/profile-attribution.py
"""

import collections
import re
import subprocess
import sys

FRAME = re.compile(r"\s*[0-9a-f]+ (\S+?)(?:\+0x[0-9a-f]+)? \(")
MODULE = re.compile(r"\$s(\d+)")


def module(symbol: str) -> str:
    match = MODULE.match(symbol)
    if not match:
        return "Swift standard library"
    start = 2 + len(match.group(1))
    return symbol[start : start + int(match.group(1))]


def demangle(symbols: list[str]) -> list[str]:
    try:
        result = subprocess.run(
            ["swift", "demangle", "--simplified", "--compact"],
            input="\n".join(symbols), capture_output=True, text=True, check=True,
        )
        return result.stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return symbols


def main() -> None:
    modules: collections.Counter[str] = collections.Counter()
    innermost: collections.Counter[str] = collections.Counter()
    metadata: collections.Counter[str] = collections.Counter()
    total = 0
    for block in sys.stdin.read().split("\n\n"):
        lines = block.strip().split("\n")
        if len(lines) < 2:
            continue
        total += 1
        frames = [m.group(1) for m in map(FRAME.match, lines[1:]) if m]
        swift = [f for f in frames if f.startswith("$s") and "Metadata" not in f]
        first = swift[0] if swift else None
        modules[module(first) if first else "(no Swift frame: kernel, libc, runtime)"] += 1
        if first:
            innermost[first] += 1
        if first and any("GenericMetadata" in f or "TupleTypeMetadata" in f for f in frames[:8]):
            metadata[first] += 1
    if not total:
        sys.exit("no samples")

    def show(title: str, counter: collections.Counter[str], names: bool, limit: int) -> None:
        print(f"-- {title}")
        top = counter.most_common(limit)
        labels = demangle([k for k, _ in top]) if names else [k for k, _ in top]
        for (_, count), label in zip(top, labels):
            print(f"{100 * count / total:5.1f}%  {label[:160]}")

    print(f"{total} samples")
    show("by module of the innermost Swift frame", modules, False, 16)
    show("innermost Swift functions", innermost, True, 20)
    show(f"asking for generic metadata ({100 * sum(metadata.values()) / total:.1f}% of samples), by caller",
         metadata, True, 12)


main()
