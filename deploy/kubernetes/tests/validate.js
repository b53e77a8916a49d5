// Reads a JSON array of Kubernetes objects on stdin and validates each one
// against the Kubernetes OpenAPI schemas (npm kubernetes-models, pinned in
// package-lock.json). Prints one line per object; exit 1 when any is invalid.
"use strict";
const fs = require("fs");

const objects = JSON.parse(fs.readFileSync(0, "utf8"));
let invalid = 0;
for (const o of objects) {
  const name = `${o.kind}/${o.metadata && o.metadata.name}`;
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  let Model;
  try {
    const mod = require(`kubernetes-models/${group ? group + "/" : ""}${version}/${o.kind}`);
    Model = mod[o.kind] || mod.default;
  } catch (e) {
    invalid++;
    console.log(`invalid ${name}: no schema for ${o.apiVersion} ${o.kind}`);
    continue;
  }
  try {
    new Model(o).validate();
    console.log(`valid ${name}`);
  } catch (e) {
    invalid++;
    console.log(`invalid ${name}: ${e.message}`);
  }
}
process.exit(invalid ? 1 : 0);
