#!/usr/bin/env python3
"""Write xtask/src/policy/tables.rs from the policy JSON that auditwheel ships.

Run it with a Python that has the wanted auditwheel installed, for instance the tools venv
that `cargo xtask` makes:

    target/xtask-tools/venv-*/bin/python xtask/src/policy/gen_tables.py

The policy test (`cargo test -p xtask --lib policy`) compares the tables with the JSON of the
auditwheel that the tools venv pins, so a new auditwheel pin fails that test until this script
is run again.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import auditwheel.policy

# The families that make wheel tags we check. Android wheels keep the tag they were built with,
# so auditwheel's android-policy.json has nothing for us to compute.
FAMILIES = (("manylinux-policy.json", "Glibc"), ("musllinux-policy.json", "Musl"))

OUT = Path(__file__).with_name("tables.rs")


class Strings:
    """Interns string lists as `const` items, so repeated lists (most policies share their
    blacklist and many share version sets) are written once."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, ...], str] = {}
        self.items: list[str] = []

    def name(self, prefix: str, values: list[str]) -> str:
        key = tuple(values)
        if key not in self.names:
            name = f"{prefix}{len(self.names)}"
            self.names[key] = name
            body = ", ".join(json.dumps(v) for v in values)
            self.items.append(f"const {name}: &[&str] = &[{body}];")
        return self.names[key]


def rust_policy(policy: dict, libc: str, strings: Strings) -> str:
    arches = []
    for arch, namespaces in policy["symbol_versions"].items():
        entries = ", ".join(
            f"({json.dumps(ns)}, {strings.name('S', versions)})"
            for ns, versions in namespaces.items()
        )
        arches.append(f"            ArchVersions {{ arch: {json.dumps(arch)}, namespaces: &[{entries}] }},")
    blacklist = ", ".join(
        f"({json.dumps(lib)}, {strings.name('S', symbols)})"
        for lib, symbols in policy["blacklist"].items()
    )
    aliases = ", ".join(json.dumps(a) for a in policy["aliases"])
    return "\n".join(
        [
            "    Policy {",
            f"        name: {json.dumps(policy['name'])},",
            f"        aliases: &[{aliases}],",
            f"        priority: {policy['priority']},",
            f"        libc: Libc::{libc},",
            "        symbol_versions: &[",
            *arches,
            "        ],",
            f"        lib_whitelist: {strings.name('S', policy['lib_whitelist'])},",
            f"        blacklist: &[{blacklist}],",
            "    },",
        ]
    )


def main() -> int:
    version = importlib.metadata.version("auditwheel")
    folder = Path(auditwheel.policy.__file__).parent
    strings = Strings()
    policies = []
    for file, libc in FAMILIES:
        for policy in json.loads((folder / file).read_text()):
            # "linux" is the fallback every wheel earns; it has no table, only the tag.
            if policy["name"] == "linux":
                continue
            policies.append(rust_policy(policy, libc, strings))
    text = "\n".join(
        [
            f"//! Policy tables generated from auditwheel {version}'s manylinux-policy.json and",
            "//! musllinux-policy.json by gen_tables.py. Do not edit: to regenerate, run",
            "//! `target/xtask-tools/venv-*/bin/python xtask/src/policy/gen_tables.py` (any Python",
            "//! with the wanted auditwheel installed will do) and update the auditwheel pin in",
            "//! tools.rs to the same version.",
            "",
            "use super::{ArchVersions, Libc, Policy};",
            "",
            "/// The auditwheel release these tables were generated from.",
            f"pub const AUDITWHEEL_VERSION: &str = {json.dumps(version)};",
            "",
            *strings.items,
            "",
            "/// Every manylinux and musllinux policy, in the order of auditwheel's JSON files.",
            "pub static POLICIES: &[Policy] = &[",
            *policies,
            "];",
            "",
        ]
    )
    OUT.write_text(text)
    print(f"wrote {OUT} from auditwheel {version}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
