// wasm/browser-test.mjs: the page (a site folder from `vae-gen export-web`) in a real browser.
// Serves SITE from a static server on 127.0.0.1 (a random port), starts headless Chromium
// (Debian's `chromium`) with the DevTools protocol on a pipe (no WebSocket, no npm packages),
// loads the page several times in fresh tabs and checks / measures:
//   - the SHA-256 the page displays for the seed-42 grid = --expect-f32 (vae-gen's line), and,
//     switched to int8, = --expect-i8
//   - the sliders (PCA directions when pca.json is there) redraw the digit and the strip
//   - time to first digit (navigation start to the first digit drawn), per load; median
//   - bytes the page loads (page + scripts + module + decoder images + pca.json), from the
//     Resource Timing entries
//   - digits per second, float32 and int8, in the page (window.vaeBench), several rounds
//   - a screenshot (--screenshot FILE)
// Prints "browser-test: N passed, F failed" and exits 1 on any failure.
//
//   node wasm/browser-test.mjs SITE --expect-f32 HEX --expect-i8 HEX [--screenshot FILE]
//        [--loads N] [--bench-rounds N] [--chromium PATH] [--json FILE]
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const site = args[0];
if (!site || site.startsWith("--")) { console.error("usage: node browser-test.mjs SITE --expect-f32 HEX --expect-i8 HEX"); process.exit(2); }
const expectF32 = opt("--expect-f32"), expectI8 = opt("--expect-i8");
const loads = Number(opt("--loads", "5")), benchRounds = Number(opt("--bench-rounds", "3"));
const chromiumPath = opt("--chromium", process.env.CHROMIUM || "chromium");

let passed = 0, failed = 0;
const ok = (cond, what) => { if (cond) { passed++; console.log(`browser-test: ok: ${what}`); } else { failed++; console.log(`browser-test: FAIL: ${what}`); } };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

// ---- a static server on loopback; no caching, so every load fetches everything ----
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
                ".json": "application/json", ".vaed": "application/octet-stream", ".png": "image/png", ".css": "text/css" };
const server = createServer((req, res) => {
  let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path.endsWith("/")) path += "index.html";
  const file = normalize(join(site, path));
  if (!file.startsWith(normalize(site))) { res.writeHead(403).end(); return; }
  try {
    const body = readFileSync(file);
    res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream", "cache-control": "no-store",
                         "content-length": body.length });
    res.end(body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;

// ---- Chromium with the DevTools protocol on fds 3 (to it) and 4 (from it), NUL-framed JSON ----
const profile = mkdtempSync(join(tmpdir(), "vae-chromium-"));
const chrome = spawn(chromiumPath, ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
  `--user-data-dir=${profile}`, "--window-size=1200,900", "about:blank"],
  { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
chrome.stderr.on("data", (d) => { stderr += d; });
const toChrome = chrome.stdio[3], fromChrome = chrome.stdio[4];
let nextId = 1, buf = Buffer.alloc(0);
const pending = new Map(), listeners = [];
fromChrome.on("data", (d) => {
  buf = Buffer.concat([buf, d]);
  let z;
  while ((z = buf.indexOf(0)) >= 0) {
    const msg = JSON.parse(buf.subarray(0, z).toString());
    buf = buf.subarray(z + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      msg.error ? reject(new Error(`${msg.error.message} (${msg.error.code})`)) : resolve(msg.result);
    } else for (const l of listeners) l(msg);
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  toChrome.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
function waitEvent(method, sessionId, ms = 30000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${method}`)), ms);
    const l = (m) => { if (m.method === method && m.sessionId === sessionId) { clearTimeout(t); listeners.splice(listeners.indexOf(l), 1); resolve(m.params); } };
    listeners.push(l);
  });
}
async function evaluate(session, expression) {
  const r = await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, session);
  if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
  return r.result.value;
}
async function openPage(path) {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  await send("Page.enable", {}, sessionId);
  await send("Runtime.enable", {}, sessionId);
  await send("Network.enable", {}, sessionId);
  await send("Network.setCacheDisabled", { cacheDisabled: true }, sessionId);
  const loaded = waitEvent("Page.loadEventFired", sessionId);
  await send("Page.navigate", { url: url + path }, sessionId);
  await loaded;
  const ready = await evaluate(sessionId, "window.vae.ready");
  return { targetId, sessionId, ready };
}

const results = { url, loads: [] };
try {
  const version = await send("Browser.getVersion");
  console.log(`browser-test: ${version.product} (${version.userAgent.replace(/.*\) /, "")}), site ${site}, ${url}`);
  results.browser = version.product;

  // Loads in fresh tabs: time to first digit, bytes loaded, the seed-42 SHA.
  for (let i = 0; i < loads; i++) {
    const p = await openPage("index.html");
    const r = await evaluate(p.sessionId, `(() => {
      const res = performance.getEntriesByType("resource").map((e) => ({ name: e.name.replace(/.*\\//, ""), bytes: e.encodedBodySize }));
      const nav = performance.getEntriesByType("navigation")[0];
      return { ready: true, error: window.vae.error || null, first: window.vae.firstDigitMs, sha: window.vae.sha,
               shown: document.getElementById("sha").textContent, dirs: window.vae.directions,
               resources: [{ name: "index.html", bytes: nav.encodedBodySize }, ...res] };
    })()`);
    r.ready = p.ready;
    results.loads.push(r);
    if (i === 0) {
      ok(p.ready && !r.error, `the page loads and runs (${r.error || "no error"})`);
      ok(r.shown === expectF32 && r.sha.seed === 42 && r.sha.precision === "float32",
         `seed 42 float32 grid: the page shows ${r.shown}, vae-gen --seed 42 -n 100 prints ${expectF32}`);
      const wantDirs = statSync(join(site, "pca.json"), { throwIfNoEntry: false }) ? "pca" : "dims";
      ok(r.dirs === wantDirs, `sliders: ${r.dirs} directions (pca.json ${wantDirs === "pca" ? "present" : "absent"})`);

      // The sliders: dragging one redraws digit A and the strip (checked by the strip's pixels).
      const strip = `(() => { const c = document.getElementById("strip"); return c.getContext("2d").getImageData(0, 0, c.width, c.height).data.join(","); })()`;
      const before = await evaluate(p.sessionId, strip);
      const redraws0 = await evaluate(p.sessionId, "window.vae.stripRedraws");
      await evaluate(p.sessionId, `(() => { const s = document.getElementById("s0"); s.value = 2.5; s.dispatchEvent(new Event("input")); })()`);
      const after = await evaluate(p.sessionId, strip);
      const redraws1 = await evaluate(p.sessionId, "window.vae.stripRedraws");
      ok(before !== after && redraws1 === redraws0 + 1, "moving slider 1 redraws digit A and the interpolation strip");
      await evaluate(p.sessionId, `(() => { const s = document.getElementById("s0"); s.value = 0; s.dispatchEvent(new Event("input")); })()`);
      ok((await evaluate(p.sessionId, strip)) === before, "moving it back gives the same pixels again");

      // The screenshot, with a slider moved so that the picture shows an edit.
      await evaluate(p.sessionId, `(() => { const s = document.getElementById("s1"); s.value = 1.5; s.dispatchEvent(new Event("input")); })()`);
      const shot = opt("--screenshot");
      if (shot) {
        const { data } = await send("Page.captureScreenshot", { format: "png", clip: { x: 0, y: 0, width: 1160, height: 660, scale: 1 } }, p.sessionId);
        writeFileSync(shot, Buffer.from(data, "base64"));
        ok(statSync(shot).size > 10000, `screenshot ${shot} (${statSync(shot).size} bytes)`);
      }

      // int8: switch the toggle; the grid's SHA must be vae-gen --precision int8's.
      const i8 = await evaluate(p.sessionId, `(async () => {
        const r = document.querySelector("input[name=prec][value=int8]");
        r.checked = true; r.dispatchEvent(new Event("change"));
        for (let t = 0; t < 200 && window.vae.sha.precision !== "int8"; t++) await new Promise((ok) => setTimeout(ok, 25));
        return { sha: window.vae.sha, shown: document.getElementById("sha").textContent,
                 bytes: performance.getEntriesByType("resource").filter((e) => e.name.endsWith("decoder-int8.vaed")).map((e) => e.encodedBodySize)[0] };
      })()`);
      ok(i8.shown === expectI8 && i8.sha.precision === "int8", `seed 42 int8 grid: the page shows ${i8.shown}, vae-gen --precision int8 prints ${expectI8}`);
      results.int8ImageBytes = i8.bytes;

      // Digits per second in the page, both precisions, alternated.
      results.bench = { float32: [], int8: [] };
      for (let k = 0; k < benchRounds; k++) {
        results.bench.float32.push(await evaluate(p.sessionId, "window.vaeBench('float32', 300)"));
        results.bench.int8.push(await evaluate(p.sessionId, "window.vaeBench('int8', 1000)"));
      }
      ok(results.bench.float32.every((v) => v > 0) && results.bench.int8.every((v) => v > 0), "digits per second measured");
    }
    await send("Target.closeTarget", { targetId: p.targetId });
  }
  const firsts = results.loads.map((l) => l.first);
  ok(results.loads.every((l) => l.shown === expectF32), `every load shows the same SHA (${loads} loads)`);
  const bytes = results.loads[0].resources.reduce((s, r) => s + r.bytes, 0);
  results.initialBytes = bytes;
  const fmt = (xs) => xs.map((v) => v.toFixed(0)).join(", ");
  console.log(`browser-test: loaded at first: ${results.loads[0].resources.map((r) => `${r.name} ${r.bytes} B`).join(", ")}: ${bytes} B`);
  console.log(`browser-test: with the int8 decoder image (loaded when switched to): ${bytes + (results.int8ImageBytes || 0)} B`);
  console.log(`browser-test: time to first digit, ms, ${loads} loads: ${fmt(firsts)}; median ${median(firsts).toFixed(0)}`);
  if (benchRounds > 0) console.log(`browser-test: digits/s float32: ${fmt(results.bench.float32)}; int8: ${fmt(results.bench.int8)}`);
  results.firstDigitMedianMs = median(firsts);
} catch (e) {
  failed++;
  console.log(`browser-test: FAIL: ${e.message}`);
  if (stderr) console.log(stderr.split("\n").slice(-15).join("\n"));
} finally {
  try { await Promise.race([send("Browser.close"), new Promise((r) => setTimeout(r, 3000))]); } catch { /* closing */ }
  const exited = new Promise((r) => { if (chrome.exitCode !== null) r(); else chrome.once("exit", r); });
  chrome.kill();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  server.close();
  try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); } catch { /* a leftover temp folder */ }
}
if (opt("--json")) writeFileSync(opt("--json"), JSON.stringify(results, null, 1));
console.log(`browser-test: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
