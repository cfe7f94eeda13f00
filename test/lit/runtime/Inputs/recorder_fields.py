"""The recorder (stdlib/recorder.mmp) reads every field a trace can hold:
every memcg and system field of the bindings but the strings.
usage: recorder_fields.py MANIFEST.json KERNEL.json"""
import json
import sys

manifest = json.load(open(sys.argv[1]))
bindings = json.load(open(sys.argv[2]))
read = {f["field"] for f in manifest["snapshot"]}
wanted = [f["name"] for f in bindings["fields"] if f["context"] in ("memcg", "system") and f["type"] != "string"]
missing = [n for n in wanted if n not in read]
print("missing: " + (", ".join(missing) if missing else "none"))
print(f"fields: {len(wanted)}")
