// Validates Kubernetes objects against the API's OpenAPI schemas, with the
// npm package kubernetes-models (its classes validate with ajv).
//   node validate.mjs MODULES_DIR < objects.json
// objects.json: a JSON array of objects. Prints one line per object,
// `ok KIND NAME` or `invalid KIND NAME: why`; exits 1 if any is invalid.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const modules = process.argv[2];
const groups = {"v1": "v1", "apps/v1": "apps/v1"};
const objects = JSON.parse(readFileSync(0, "utf8"));
let bad = 0;
for (const o of objects) {
  const group = groups[o.apiVersion];
  const name = `${o.kind} ${o.metadata?.name ?? "?"}`;
  if (!group) {
    console.log(`invalid ${name}: apiVersion ${o.apiVersion} is not checked here`);
    bad++;
    continue;
  }
  const api = await import(pathToFileURL(path.join(modules, "kubernetes-models", group, "index.js")));
  const Model = api[o.kind];
  if (!Model) {
    console.log(`invalid ${name}: no kind ${o.kind} in ${o.apiVersion}`);
    bad++;
    continue;
  }
  try {
    new Model(o).validate();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`invalid ${name}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
