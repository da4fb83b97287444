#!/usr/bin/env bash
# Fills corpus/<target>/ with seeds made from real files on this machine: shared libraries for
# elf_reader, small wheels for wheel_reader. The wheels are repacked under the dist-info name
# the wheel target expects (fuzz-1.0.dist-info), RECORD rewritten to match, so that the seeds
# get past Wheel::from_bytes. Run from anywhere; re-running adds to what is there.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
max_bytes=$((2 * 1024 * 1024))
elf_dir="$here/corpus/elf_reader"
wheel_dir="$here/corpus/wheel_reader"
mkdir -p "$elf_dir" "$wheel_dir"

# ELF seeds: a few small system libraries and executables of different shapes.
for f in /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libffi.so.8 \
         /usr/lib/x86_64-linux-gnu/libbz2.so.1.0 /usr/lib/x86_64-linux-gnu/libm.so.6 \
         /usr/lib/x86_64-linux-gnu/libpthread.so.0 /usr/lib64/ld-linux-x86-64.so.2 \
         /usr/lib/x86_64-linux-gnu/crt1.o /bin/true; do
    [ -f "$f" ] || continue
    [ "$(stat -L -c %s "$f")" -lt "$max_bytes" ] || continue
    cp -L "$f" "$elf_dir/$(basename "$f")"
done

# Wheel seeds: the project's own small wheels (the minilayout miniature, test fixtures).
wheels=()
while IFS= read -r -d '' w; do
    wheels+=("$w")
done < <(find "$root/wheelhouse" "$root/target/test-cache" "$root/target/test-tmp" \
              -name '*.whl' -size -2M -print0 2>/dev/null)
python3 - "$wheel_dir" "${wheels[@]}" <<'PY'
import base64, hashlib, os, re, sys, zipfile

out, wheels = sys.argv[1], sys.argv[2:]
seen = set()
for w in wheels:
    data = open(w, "rb").read()
    digest = hashlib.sha256(data).hexdigest()[:16]
    if digest in seen:
        continue
    seen.add(digest)
    with zipfile.ZipFile(w) as src:
        infos = src.infolist()
        info_dirs = {i.filename.split("/")[0] for i in infos if ".dist-info/" in i.filename}
        if len(info_dirs) != 1:
            continue
        old = info_dirs.pop()
        old_data = old[: -len(".dist-info")] + ".data"
        def rename(n):
            for a, b in ((old + "/", "fuzz-1.0.dist-info/"), (old_data + "/", "fuzz-1.0.data/")):
                if n.startswith(a):
                    return b + n[len(a):]
            return n
        target = os.path.join(out, f"{os.path.basename(w)[:-4]}-{digest}.whl")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
            rows = []
            for i in infos:
                if i.filename == old + "/RECORD":
                    continue
                body = src.read(i)
                name = rename(i.filename)
                z = zipfile.ZipInfo(name, i.date_time)
                z.external_attr = i.external_attr
                z.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(z, body)
                h = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
                if not name.endswith("/"):
                    rows.append(f"{name},sha256={h},{len(body)}")
            rows.append("fuzz-1.0.dist-info/RECORD,,")
            dst.writestr("fuzz-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
        print(f"seed: {target}")
PY
# METADATA seeds for deploy_metadata: real headers, and the versions that once became paths.
meta_dir="$here/corpus/deploy_metadata"
mkdir -p "$meta_dir"
printf 'Metadata-Version: 2.1\nName: fuzz\nVersion: 1.0\n\nbody\n' > "$meta_dir/plain"
printf 'Metadata-Version: 2.4\nName: Fuzz_\nVersion: 1.0.post1+local.7\nLicense-File: LICENSE\n' > "$meta_dir/local"
printf 'Name: fuzz\nVersion: ../../X\n' > "$meta_dir/traversal"
printf 'Name: fuzz\r\nVersion: /tmp/victim\r\n' > "$meta_dir/absolute"
# Graph seeds for loader_graph: records of 4 bytes (see the target): a module needing a library
# through $ORIGIN, a chain, a plugin folder.
graph_dir="$here/corpus/loader_graph"
mkdir -p "$graph_dir"
printf '\x00\x01\x00\x03\x01\x02\x00\x00\x02\x00\x00\x00\x00\x02\x00\x02' > "$graph_dir/module"
printf '\x00\x01\x00\x02\x01\x02\x00\x00\x00\x02\x00\x02\x01\x03\x00\x00\x00\x03\x00\x02' > "$graph_dir/chain"
printf '\x00\x01\x03\x01\x02\x01\x00\x00\x00\x00\x00\x01' > "$graph_dir/plugin"
echo "corpus: $(ls "$elf_dir" | wc -l) ELF seeds, $(ls "$wheel_dir" | wc -l) wheel seeds," \
     "$(ls "$meta_dir" | wc -l) METADATA seeds, $(ls "$graph_dir" | wc -l) graph seeds" >&2
