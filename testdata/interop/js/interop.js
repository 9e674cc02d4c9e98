#!/usr/bin/env node
// transit-js reference side of tally's transit codec tests.
//
//   node interop.js gen [DIR]   write the golden fixtures (default:
//                               ../../transit, i.e. testdata/transit)
//   node interop.js decode      read transit documents from stdin, one per
//                               line, and print the canonical form of what
//                               transit-js reads, one per line
//
// The canonical form is JSON that says only what transit-js can tell
// apart: null, true/false and strings as themselves; {"num": String(x)}
// for a JavaScript number (ints and doubles alike, "-0" for negative
// zero, "NaN", "Infinity", "-Infinity"); {"int": "..."} for an integer
// beyond 2^53 (a goog.math.Long); {"kw": "ns/name"}, {"sym": ...},
// {"uuid": ...}, {"inst": "<epoch ms>"}, {"bytes": "<base64>"};
// {"vec": [...]}, {"list": [...]}, {"set": [...]}, {"map": [[k, v], ...]}
// and {"tagged": [tag, rep]} for anything else. transit-js reads a char
// ("~c") as a one-character string. Set and map order is not meaningful.
"use strict";

const fs = require("fs");
const path = require("path");
const t = require("transit-js");

const kw = (s) => t.keyword(s);
const uuid = (s) => t.uuid(s);
const tmap = (...kvs) => t.map(kvs);

// canon returns the canonical form of a value read by transit-js.
function canon(x) {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case "boolean":
    case "string":
      return x;
    case "number":
      return { num: Object.is(x, -0) ? "-0" : String(x) };
  }
  if (t.isKeyword(x)) return { kw: String(x).substring(1) };
  if (t.isSymbol(x)) return { sym: String(x) };
  if (t.isUUID(x)) return { uuid: x.toString() };
  if (t.isInteger(x)) return { int: x.toString() };
  if (x instanceof Date) return { inst: String(x.valueOf()) };
  if (x instanceof Uint8Array) return { bytes: Buffer.from(x).toString("base64") };
  if (Array.isArray(x)) return { vec: x.map(canon) };
  if (t.isList(x)) return { list: x.rep.map(canon) };
  if (t.isSet(x)) {
    const out = [];
    x.forEach((v) => out.push(canon(v)));
    return { set: out };
  }
  if (t.isMap(x)) {
    const out = [];
    x.forEach((v, k) => out.push([canon(k), canon(v)]));
    return { map: out };
  }
  if (t.isTaggedValue(x)) return { tagged: [x.tag, canon(x.rep)] };
  throw new Error("cannot canonicalise " + Object.prototype.toString.call(x));
}

// A small deterministic generator, so that gen always writes the same.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function uuidFrom(r) {
  const hex = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < 32; i++) {
    let d = Math.floor(r() * 16);
    if (i === 12) d = 4;
    if (i === 16) d = 8 + (d & 3);
    s += hex[d];
    if (i === 7 || i === 11 || i === 15 || i === 19) s += "-";
  }
  return s;
}

const PROFILE = uuid("0e4a2c9b-7c1d-4d2e-9f3a-5b6c7d8e9f01");
const TEAM = uuid("6c1f9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b");
const FILE = uuid("9f8e7d6c-5b4a-4392-a1b0-c9d8e7f6a5b4");
const SESSION = uuid("11111111-2222-4333-8444-555555555555");
const T0 = 1717243200000; // 2024-06-01T12:00:00Z

// context is what Penpot's frontend collects for every event.
function context(origin, ns, sym) {
  return tmap(
    kw("version"), "2.4.3-12-g1a2b3c4",
    kw("locale"), "en",
    kw("browser"), "Chrome",
    kw("browser-version"), "131.0.0.0",
    kw("engine"), "Blink",
    kw("engine-version"), "131.0.0.0",
    kw("os"), "Linux x86_64",
    kw("os-version"), "x86_64",
    kw("device-type"), "unknown",
    kw("screen-width"), 1920,
    kw("screen-height"), 1080,
    kw("screen-color-depth"), 24,
    kw("screen-orientation"), "landscape-primary",
    kw("device-arch"), "amd64",
    kw("event-origin"), origin,
    kw("event-namespace"), ns,
    kw("event-symbol"), sym,
    kw("session"), new Date(T0 - 600000),
    kw("session-id"), SESSION
  );
}

function event(name, type, props, ts, ctx) {
  const e = [kw("name"), name, kw("type"), type, kw("props"), props, kw("timestamp"), ts];
  if (ctx !== undefined) e.push(kw("context"), ctx);
  e.push(kw("profile-id"), PROFILE);
  return t.map(e);
}

function body(events) {
  return tmap(kw("events"), events);
}

function okEvents() {
  return [
    event("navigate", "action",
      tmap(kw("route-id"), "dashboard-projects", kw("team-id"), TEAM),
      new Date(T0), context("dashboard", "app.main.data.dashboard", "navigate")),
    event("open-file", "action",
      tmap(kw("file-id"), FILE, kw("team-id"), TEAM, kw("shapes"), 42,
        kw("zoom"), 1.25, kw("layers"), ["rect", "text"], kw("data"), kw("placeholder/map")),
      new Date(T0 + 1500), context("workspace", "app.main.data.workspace", "open-file")),
    event("identify", "identify",
      tmap(kw("email-domain"), "example.org", kw("is-active"), true, kw("lang"), null),
      new Date(T0 + 3000), tmap()),
    event("performance-long-task", "trigger",
      tmap(kw("duration"), 1234.5, kw("file-id"), FILE),
      new Date(T0 + 4000)),
  ];
}

// hundred makes a realistic 100-event body, as the frontend's batches are.
function hundred() {
  const r = rng(42);
  const names = [
    ["navigate", "app.main.data.dashboard"], ["select-shape", "app.main.data.workspace"],
    ["create-shape", "app.main.data.workspace.shapes"], ["update-text", "app.main.data.workspace.texts"],
    ["set-theme", "app.main.data.profile"], ["export-shapes", "app.main.data.exports"],
  ];
  const events = [];
  for (let i = 0; i < 100; i++) {
    const [name, ns] = names[Math.floor(r() * names.length)];
    const props = tmap(
      kw("file-id"), i % 7 === 0 ? uuid(uuidFrom(r)) : FILE,
      kw("team-id"), TEAM,
      kw("page-id"), uuid(uuidFrom(r)),
      kw("type"), ["rect", "frame", "text", "path"][Math.floor(r() * 4)],
      kw("count"), Math.floor(r() * 50),
      kw("origin"), "workspace:context-menu"
    );
    events.push(event(name, "action", props, new Date(T0 + i * 731), context("workspace", ns, name)));
  }
  return body(events);
}

// values covers every type of tally's value model, and then some.
function values() {
  const big = t.integer("9007199254740993");
  const cacheKeys = [];
  for (let i = 0; i < 50; i++) cacheKeys.push(kw("key-" + i), i);
  return [
    null, true, false, 0, -1, 255, 256, 123456789, -9007199254740991,
    big, t.integer("-9223372036854775808"), t.integer("9223372036854775807"),
    1.5, -0.25, 1e-7, 6.02214076e23, NaN, Infinity, -Infinity,
    "", "plain", "~tilde", "^caret", "`backtick", "^ ", "ünïcödé ✓ 😀", "quote \" backslash \\ nl \n tab \t nul \u0000",
    kw("a"), kw("abcd"), kw("ns.x/name"), t.symbol("sym"), t.symbol("my.ns/sym"),
    uuid("531a379e-31bb-4ce1-8690-158dceb64be6"), new Date(0), new Date(T0), new Date(-86400000),
    Buffer.from([0, 1, 2, 250, 255]), Buffer.alloc(0),
    t.tagged("c", "x"), t.tagged("c", "é"),
    t.set([kw("telemetry"), kw("audit-log"), 1, "s"]), t.set([]),
    t.list([1, kw("abcd"), "x"]), t.list([]),
    [], [[1, 2], ["a"]],
    tmap(), tmap("s", 1, "long string key", 2, 7, "int key", true, "bool key", null, "nil key",
      kw("abcd"), "kw", uuid("531a379e-31bb-4ce1-8690-158dceb64be6"), "uuid key",
      new Date(5), "date key", "~weird", "escaped key"),
    tmap([1, 2], "vector key", tmap(kw("a"), 1), "map key", kw("plain"), "plain"),
    tmap(kw("abcd"), tmap(kw("abcd"), tmap(kw("abcd"), [kw("abcd"), t.symbol("abcd")]))),
    t.map(cacheKeys), t.map(cacheKeys),
    [kw("set"), 1], ["~#set", [1]],
  ];
}

// cacheWrap holds more cacheable strings than the cache has room for.
function cacheWrap() {
  const ks = [];
  for (let i = 0; i < 2000; i++) ks.push(kw("k" + String(i).padStart(4, "0")));
  return [ks, ks];
}

function gen(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const w = t.writer("json");
  const wv = t.writer("json-verbose");
  const r = t.reader("json");
  const long = "x".repeat(251);
  const fixtures = {
    "push-ok": w.write(body(okEvents())),
    "push-100": w.write(hundred()),
    "push-empty": w.write(body([])),
    "push-name-250": w.write(body([event("n".repeat(250), "action", tmap(), new Date(T0))])),
    "push-bad-type": w.write(body([event("navigate", "click", tmap(), new Date(T0))])),
    "push-missing-name": w.write(body([t.map([kw("type"), "action", kw("props"), tmap(), kw("timestamp"), new Date(T0)])])),
    "push-props-not-map": w.write(body([event("navigate", "action", ["not", "a", "map"], new Date(T0))])),
    "push-name-too-long": w.write(body([event(long, "action", tmap(), new Date(T0))])),
    "push-last-bad": w.write(body(okEvents().concat([event("navigate", "action", tmap(), "yesterday")]))),
    "values": w.write(values()),
    "values-verbose": wv.write(values()),
    "cache-wrap": w.write(cacheWrap()),
    "flags": w.write(t.set([kw("telemetry")])),
    "quoted-string": w.write("hello"),
    "quoted-nil": w.write(null),
    "error-response": w.write(tmap(kw("type"), kw("validation"), kw("code"), kw("params-validation"),
      kw("hint"), "invalid events")),
  };
  for (const [name, text] of Object.entries(fixtures)) {
    fs.writeFileSync(path.join(dir, name + ".transit"), text);
    fs.writeFileSync(path.join(dir, name + ".canon.json"), JSON.stringify(canon(r.read(text))) + "\n");
  }
}

function decode() {
  const r = t.reader("json");
  const lines = fs.readFileSync(0, "utf8").split("\n");
  const out = [];
  for (const line of lines) {
    if (line === "") continue;
    try {
      out.push(JSON.stringify(canon(r.read(line))));
    } catch (e) {
      out.push(JSON.stringify({ error: String(e && e.message) }));
    }
  }
  process.stdout.write(out.map((l) => l + "\n").join(""));
}

const cmd = process.argv[2];
if (cmd === "gen") {
  gen(process.argv[3] || path.join(__dirname, "..", "..", "transit"));
} else if (cmd === "decode") {
  decode();
} else {
  process.stderr.write("usage: node interop.js gen [DIR] | decode\n");
  process.exit(2);
}
