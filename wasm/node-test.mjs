// wasm/node-test.mjs: the WebAssembly module under Node, through web/vae.js (the page's loader),
// against the host's goldens, read from the repository at test time:
//   float32: seeds 0, 42, 2026, images 0..15, every pixel = Tests/DecoderTests/Goldens/runtime-u8-seedS.bin
//   int8:    the same images             = Tests/DecoderTests/Goldens/trainer-int8-seedS.bin
//   the module's SHA-256 against the goldens' per-image digests (digests*.txt)
//   optional: --expect-f32 HEX --expect-i8 HEX, the SHA of seed 42 images 0..99 (vae-gen's line)
//   a damaged image is refused with a status, not a trap
//
//   node wasm/node-test.mjs MODULE.wasm FLOAT32.vaed INT8.vaed GOLDENS_DIR [--expect-f32 HEX] [--expect-i8 HEX]
//
// Prints "node-test: N passed, F failed"; exits 1 on any failure.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { Runtime, Decoder, PIXELS } = await import(join(here, "..", "web", "vae.js"));

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const [modulePath, f32Path, i8Path, goldens] = args;
if (!goldens) { console.error("usage: node node-test.mjs MODULE.wasm FLOAT32.vaed INT8.vaed GOLDENS_DIR"); process.exit(2); }

let passed = 0, failed = 0;
const ok = (cond, what) => { if (cond) passed++; else { failed++; console.log(`node-test: FAIL: ${what}`); } };

const rt = await Runtime.load(readFileSync(modulePath));
const dec = { float32: new Decoder(rt, readFileSync(f32Path)), int8: new Decoder(rt, readFileSync(i8Path)) };
ok(dec.float32.precision === "float32" && dec.int8.precision === "int8", "precisions of the two images");
ok(dec.float32.dim === 64 && dec.float32.pixels === PIXELS, "latent 64, 784 pixels");

// Per-image digests: "seed S image I sha256 HEX" lines (digests.txt: runtime, digests-int8.txt: int8).
function digests(file) {
  const m = new Map();
  for (const line of readFileSync(join(goldens, file), "utf8").split("\n")) {
    const w = line.trim().split(/\s+/);
    if (w[0] === "seed" && w[2] === "image" && w[4] === "sha256") m.set(`${w[1]}/${w[3]}`, w[5]);
  }
  return m;
}
const sets = [
  ["float32", "runtime-u8-seed", digests("digests.txt")],
  ["int8", "trainer-int8-seed", digests("digests-int8.txt")],
];
for (const [prec, prefix, dig] of sets) {
  for (const seed of [0, 42, 2026]) {
    const want = readFileSync(join(goldens, `${prefix}${seed}.bin`));
    const n = want.length / PIXELS;
    const got = dec[prec].grid(seed, n);
    let diff = 0, first = -1;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) { diff++; if (first < 0) first = i; }
    ok(diff === 0, `${prec} seed ${seed}: ${diff} of ${got.length} pixels differ (first at image ${Math.floor(first / PIXELS)}, pixel ${first % PIXELS})`);
    let digestOK = true, counted = 0;
    for (let i = 0; i < n; i++) {
      const d = dig.get(`${seed}/${i}`);
      if (d === undefined) continue;
      counted++;
      if (rt.sha256(got.subarray(i * PIXELS, (i + 1) * PIXELS)) !== d) digestOK = false;
    }
    ok(digestOK && (prec === "int8" || counted > 0), `${prec} seed ${seed}: per-image SHA-256 (${counted} listed)`);
    console.log(`node-test: ${prec} seed ${seed}: ${n} images, ${got.length} pixels, ${diff} differ`);
  }
}

// Seed 42, images 0..99: the line `vae-gen --seed 42 -n 100 [--precision int8]` prints.
for (const [prec, flag] of [["float32", "--expect-f32"], ["int8", "--expect-i8"]]) {
  const sha = rt.sha256(dec[prec].grid(42, 100));
  console.log(`node-test: ${prec} seed 42 -n 100 sha256 ${sha}`);
  const want = opt(flag);
  if (want !== undefined) ok(sha === want, `${prec} seed 42 -n 100: ${sha}, vae-gen says ${want}`);
}

// A latent from the module equals the generator's; decode(latent(s, i)) = generate(s, i).
{
  const z = dec.float32.latent(42, 7);
  ok(z.length === 64 && z.every(Number.isFinite), "latent of seed 42 image 7");
  const a = dec.float32.decode(z), b = dec.float32.generate(42, 7);
  ok(a.every((v, i) => v === b[i]), "decode(latent) = generate");
}

// A damaged image is refused (checksum), and the module keeps working.
{
  const bad = Uint8Array.from(readFileSync(f32Path));
  bad[bad.length - 5] ^= 0x40;
  let msg = "";
  try { new Decoder(rt, bad); } catch (e) { msg = String(e.message); }
  ok(/status 4\)/.test(msg), `damaged image refused with VAE_ERR_CHECKSUM_MISMATCH: "${msg}"`);
  const again = dec.int8.generate(42, 0);
  ok(again.length === PIXELS, "the module still decodes after a refused image");
}

// Speed under Node (informative): digits per second, one thread.
for (const prec of ["float32", "int8"]) {
  const d = dec[prec], n = prec === "int8" ? 400 : 200;
  d.generate(1, 0);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) d.generate(1, i);
  const ms = performance.now() - t0;
  console.log(`node-test: ${prec}: ${(n / ms * 1000).toFixed(0)} digits/s under Node ${process.version} (${n} digits)`);
}

console.log(`node-test: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
