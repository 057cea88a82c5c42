#!/usr/bin/env node
// Validates rendered Kubernetes manifests offline against the API schemas bundled in the npm packages
// kubernetes-models (built-in kinds) and @kubernetes-models/prometheus-operator (PodMonitor, ServiceMonitor, ...).
//
//   node validate.mjs FILE.yaml|DIR ...      every document of every file (*.yaml, *.yml under a DIR)
//
// Prints one line per object and 'N passed, N failed'; exits 1 when anything failed or nothing was found.
//
// The bundled schemas do not forbid unknown fields, so a typo such as `imagee:` would pass them. The schema
// validators only read the fields they know, so every object is validated through a proxy that records which keys
// were read; keys never read are reported as unknown fields. Maps (labels, ConfigMap data, resource lists) are
// enumerated by the validators and count as read.
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

const GROUP_PACKAGES = [
  { test: (group) => group === "monitoring.coreos.com", pkg: "@kubernetes-models/prometheus-operator" },
  { test: () => true, pkg: "kubernetes-models" },
];

/** The model class for an apiVersion and kind, or an Error saying why there is none. */
async function modelClass(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const pkg = GROUP_PACKAGES.find((g) => g.test(group)).pkg;
  const module = `${pkg}/${group ? group + "/" : ""}${version}/${kind}`;
  try {
    const m = await import(module);
    if (typeof m[kind] !== "function") {
      return new Error(`${module} has no class ${kind}`);
    }
    return m[kind];
  } catch (e) {
    return new Error(`no schema for ${apiVersion} ${kind} (${module}: ${e.code ?? e.message})`);
  }
}

/** Wraps `value` so that reads of its keys (deeply) are recorded in `seen`: object -> Set of keys, or true for all. */
function tracked(value, seen, proxies) {
  if (value === null || typeof value !== "object") {
    return value;
  }
  if (proxies.has(value)) {
    return proxies.get(value);
  }
  const mark = (target, key) => {
    if (typeof key !== "string") return;
    const s = seen.get(target);
    if (s === true) return;
    if (s) s.add(key);
    else seen.set(target, new Set([key]));
  };
  const proxy = new Proxy(value, {
    get(target, key, receiver) {
      mark(target, key);
      return tracked(Reflect.get(target, key, receiver), seen, proxies);
    },
    has(target, key) {
      mark(target, key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      mark(target, key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      seen.set(target, true);
      return Reflect.ownKeys(target);
    },
  });
  proxies.set(value, proxy);
  return proxy;
}

/** Paths of keys in `value` that the validator never read. */
function unknownFields(value, seen, at = "") {
  if (value === null || typeof value !== "object") {
    return [];
  }
  if (Array.isArray(value)) {
    return value.flatMap((v, i) => unknownFields(v, seen, `${at}/${i}`));
  }
  const read = seen.get(value);
  if (read === true) {
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, seen, `${at}/${k}`));
  }
  return Object.entries(value).flatMap(([k, v]) =>
    read && read.has(k) ? unknownFields(v, seen, `${at}/${k}`) : [`${at}/${k}`]);
}

async function validate(doc) {
  if (!doc || typeof doc !== "object" || !doc.apiVersion || !doc.kind) {
    return ["not a Kubernetes object (no apiVersion or kind)"];
  }
  const cls = await modelClass(doc.apiVersion, doc.kind);
  if (cls instanceof Error) {
    return [cls.message];
  }
  const seen = new WeakMap();
  try {
    cls.prototype.validate.call(tracked(doc, seen, new WeakMap()));
  } catch (e) {
    return [e.message];
  }
  return unknownFields(doc, seen).map((p) => `unknown field ${p}`);
}

function yamlFiles(arg) {
  const stat = fs.statSync(arg);
  if (!stat.isDirectory()) {
    return [arg];
  }
  return fs.readdirSync(arg, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(arg, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  }).sort();
}

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error("usage: validate.mjs FILE.yaml|DIR ...");
  process.exit(2);
}
let passed = 0;
let failed = 0;
for (const file of args.flatMap(yamlFiles)) {
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d !== null && d !== undefined);
  } catch (e) {
    console.log(`FAIL ${file}: not YAML: ${e.message}`);
    failed++;
    continue;
  }
  for (const doc of docs) {
    const name = `${doc?.kind ?? "?"}/${doc?.metadata?.name ?? "?"}`;
    const problems = await validate(doc);
    if (problems.length === 0) {
      passed++;
      console.log(`ok   ${file}: ${name}`);
    } else {
      failed++;
      console.log(`FAIL ${file}: ${name}: ${problems.join("; ")}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (passed + failed === 0) {
  console.error("no Kubernetes objects found: nothing was validated");
}
process.exit(failed > 0 || passed === 0 ? 1 : 0);
