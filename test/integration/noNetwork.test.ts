// No network, ever: the engine's main paths (info, inspect, generate, complete, lens, compare,
// embeddings, gates on ONNX and TensorFlow.js) run through the CLI in a network namespace of their own
// (`unshare -n`: only a loopback interface, down) and give the same answers as with the network. A
// control shows the namespace is cut: a server this test listens on is unreachable from inside it.
// Where the machine does not allow a new network namespace (unshare needs root or user namespaces),
// the test says so and is skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { CLI_JS, EARLY_MODEL, ROOT, SAMPLE_MODEL } from "../helpers";

const unshare = spawnSync("unshare", ["-n", "true"], { encoding: "utf8" });
const skip = unshare.status === 0 ? false : `unshare -n is not allowed here (${(unshare.error?.message ?? unshare.stderr).trim()}): no network namespace to run in`;

/** `node args` with the network cut (unshare -n) or not. */
function node(args: string[], offline: boolean) {
  const cmd = offline ? ["unshare", ["-n", process.execPath, ...args]] : [process.execPath, args];
  return spawnSync(cmd[0] as string, cmd[1] as string[], { encoding: "utf8", timeout: 180_000, maxBuffer: 256 * 2 ** 20 });
}

/** The CLI's JSON for `args`, with the network cut or not. */
function cli(args: string[], offline: boolean): unknown {
  const r = node([CLI_JS, ...args, "--ep", "cpu", "--json"], offline);
  assert.equal(r.status, 0, `seqlens ${args.join(" ")}${offline ? " (offline)" : ""}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test("the namespace is cut: a server on this machine's loopback is unreachable from inside it", { skip }, async () => {
  const server = net.createServer((s) => s.end("hello"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    // a child that connects and prints what the server says, or the error code
    const probe = `const s = require("net").connect(${port}, "127.0.0.1"); s.on("data", (d) => { console.log("reached " + d); process.exit(0); }); s.on("error", (e) => { console.log(e.code); process.exit(3); });`;
    const run = (offline: boolean) =>
      new Promise<{ status: number | null; out: string }>((resolve) => {
        // asynchronous: this process's server must answer while the child runs
        const child = offline ? spawn("unshare", ["-n", process.execPath, "-e", probe]) : spawn(process.execPath, ["-e", probe]);
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.on("close", (status) => resolve({ status, out: out.trim() }));
      });
    const online = await run(false);
    assert.deepEqual(online, { status: 0, out: "reached hello" }, "the probe reaches the server with the network");
    const offline = await run(true);
    assert.equal(offline.status, 3, offline.out);
    assert.match(offline.out, /^(ENETUNREACH|ECONNREFUSED|EADDRNOTAVAIL)$/);
  } finally {
    server.close();
  }
});

test("offline, the engine's paths give what they give online: info, inspect, generate, complete, lens, compare, embeddings, gates (ONNX and TensorFlow.js)", { skip }, () => {
  const lstm = path.join(ROOT, "samples", "models", "co2-lstm");
  const charLstm = path.join(ROOT, "samples", "models", "char-lstm");
  const runs: [string, string[]][] = [
    ["info", ["info", "--model", SAMPLE_MODEL]],
    ["inspect", ["inspect", "--model", SAMPLE_MODEL, "--text", "interface Shape { area(): number; }"]],
    ["generate", ["generate", "--model", SAMPLE_MODEL, "--text", "function add(a: number, b: number)", "--max-tokens", "12", "--greedy"]],
    ["complete", ["complete", "--model", SAMPLE_MODEL, "--text", "const total = items.", "--max-tokens", "8"]],
    ["lens", ["lens", "--model", SAMPLE_MODEL, "--text", "let x = 1;"]],
    ["compare", ["compare", "--model", SAMPLE_MODEL, "--model", EARLY_MODEL, "--text", "let x = 1;"]],
    ["project", ["project", "--model", SAMPLE_MODEL, "--method", "pca", "--dims", "2"]],
    ["neighbours", ["neighbours", "--model", SAMPLE_MODEL, "--token", "the", "--k", "5"]],
    ["gates onnx", ["gates", "--model", lstm, "--values", "315.7,316.2,316.9,317.6,318.1,318.5"]],
    ["gates tfjs", ["gates", "--model", charLstm, "--text", "hello world", "--runtime", "tfjs"]],
  ];
  const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x) => (/^(ms|elapsedMs|loadMs|timings?|handle)$/.test(k) ? undefined : x)));
  for (const [name, args] of runs) {
    const offline = cli(args, true) as Record<string, unknown>;
    const online = cli(args, false) as Record<string, unknown>;
    assert.ok(Object.keys(offline).length > 0, name);
    assert.deepEqual(strip(offline), strip(online), `${name}: offline and online differ`);
  }
});
