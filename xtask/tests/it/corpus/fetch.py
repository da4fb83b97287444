"""Downloads the corpus wheels (wheels.txt) into a folder, once, each checked against its
pinned sha256; the URL comes from PyPI's JSON API. Usage: fetch.py <wheels.txt> <folder>"""
import hashlib, json, os, sys, urllib.parse, urllib.request

listing, folder = sys.argv[1], sys.argv[2]
os.makedirs(folder, exist_ok=True)
projects = {}
for line in open(listing):
    if not line.strip() or line.startswith("#"):
        continue
    project, filename, sha256 = line.split()[:3]
    dest = os.path.join(folder, filename)
    if os.path.exists(dest) and hashlib.sha256(open(dest, "rb").read()).hexdigest() == sha256:
        continue
    api = f"https://pypi.org/pypi/{project}/json"
    if project not in projects:
        projects[project] = json.load(urllib.request.urlopen(api, timeout=120))
    files = [f for rel in projects[project]["releases"].values() for f in rel if f["filename"] == filename]
    if not files:
        sys.exit(f"{filename} is not on PyPI under {project}")
    # A mirror may answer with URLs relative to the API's.
    data = urllib.request.urlopen(urllib.parse.urljoin(api, files[0]["url"]), timeout=600).read()
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        sys.exit(f"{filename}: sha256 {got}, pinned {sha256}")
    tmp = dest + ".part"
    open(tmp, "wb").write(data)
    os.replace(tmp, dest)
    print("fetched", filename, file=sys.stderr)
