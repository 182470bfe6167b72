// app.js: the page. Loads vae.wasm (the runtime), decoder.vaed (float32) and, when asked,
// decoder-int8.vaed, and pca.json (the training latents' principal directions, from
// `vae-train pca`; without it the sliders move plain latent dimensions). Hand-written, no
// framework, no build step.
import { Runtime, Decoder, PIXELS } from "./vae.js";

const $ = (id) => document.getElementById(id);
const SIDE = 28, GRID = 10, STRIP = 10, SLIDERS = 6;

const state = { rt: null, dec: {}, prec: "float32", seed: 42, a: 0, b: 1, dirs: null, s: new Float32Array(SLIDERS) };
// What the tests read (wasm/browser-test.mjs): set as things happen.
window.vae = { ready: null, firstDigitMs: null, sha: null, bench: null, stripRedraws: 0 };

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function draw(ctx, px, x0, y0) {
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    const v = px[i];
    img.data[4 * i] = v; img.data[4 * i + 1] = v; img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, x0, y0);
}

async function decoder(prec) {
  if (!state.dec[prec]) {
    const file = prec === "int8" ? "decoder-int8.vaed" : "decoder.vaed";
    state.dec[prec] = new Decoder(state.rt, await fetchBytes(file));
  }
  return state.dec[prec];
}

// The grid of the seed: 100 digits, drawn as they come; its SHA-256 is vae-gen's line.
async function drawGrid() {
  const d = await decoder(state.prec);
  const ctx = $("grid").getContext("2d");
  const all = new Uint8Array(GRID * GRID * PIXELS);
  for (let i = 0; i < GRID * GRID; i++) {
    const px = d.generate(state.seed, i);
    all.set(px, i * PIXELS);
    draw(ctx, px, (i % GRID) * SIDE, Math.floor(i / GRID) * SIDE);
    if (window.vae.firstDigitMs === null) window.vae.firstDigitMs = performance.now();
  }
  const sha = state.rt.sha256(all);
  $("sha").textContent = sha;
  window.vae.sha = { seed: state.seed, precision: state.prec, sha256: sha };
}

// The latent of digit A moved along the sliders' directions.
function editedLatent() {
  const d = state.dec[state.prec];
  const z = d.latent(state.seed, state.a);
  const { vectors, scales } = state.dirs;
  for (let k = 0; k < SLIDERS; k++) {
    const t = state.s[k] * scales[k];
    if (t !== 0) for (let j = 0; j < z.length; j++) z[j] += t * vectors[k][j];
  }
  return z;
}

function drawEdits() {
  const d = state.dec[state.prec];
  const za = editedLatent(), zb = d.latent(state.seed, state.b);
  draw($("digit").getContext("2d"), d.decode(za), 0, 0);
  draw($("digit-b").getContext("2d"), d.decode(zb), 0, 0);
  const ctx = $("strip").getContext("2d"), z = new Float32Array(za.length);
  for (let i = 0; i < STRIP; i++) {
    const t = i / (STRIP - 1);
    for (let j = 0; j < z.length; j++) z[j] = (1 - t) * za[j] + t * zb[j];
    draw(ctx, d.decode(z), i * SIDE, 0);
  }
  window.vae.stripRedraws++;
}

function buildSliders() {
  const box = $("sliders");
  box.textContent = "";
  for (let k = 0; k < SLIDERS; k++) {
    const label = document.createElement("label");
    const name = document.createElement("span");
    name.textContent = state.dirs.names[k];
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: -3, max: 3, step: 0.05, value: 0, id: `s${k}` });
    const out = document.createElement("span");
    out.textContent = "0.00";
    input.addEventListener("input", () => {
      state.s[k] = Number(input.value);
      out.textContent = state.s[k].toFixed(2);
      drawEdits();
    });
    label.append(name, input, out);
    box.append(label);
  }
}

// pca.json: { "mean": [64], "components": [[64] x k] (unit vectors, largest variance first),
// "stddev": [k] (the training latents' spread along each) }. Slider units: standard deviations.
async function loadDirections(dim) {
  try {
    const p = await (await fetch("pca.json")).json();
    if (p.components?.length >= SLIDERS && p.components[0].length === dim) {
      const total = p.variance_total;
      $("dir-title").textContent = "Principal components of the training latents";
      $("dir-note").textContent = `units: standard deviations of the ${p.images} training images' latent means` +
        (total ? `; these ${SLIDERS} carry ${(100 * p.stddev.slice(0, SLIDERS).reduce((s, v) => s + v * v, 0) / total).toFixed(0)}% of their variance` : "");
      return { names: p.components.slice(0, SLIDERS).map((_, k) => `PC ${k + 1}`), vectors: p.components.slice(0, SLIDERS),
               scales: p.stddev.slice(0, SLIDERS), source: "pca" };
    }
  } catch (e) { /* no pca.json: plain dimensions */ }
  $("dir-title").textContent = "Latent dimensions";
  $("dir-note").textContent = "no pca.json beside the page: the sliders move latent dimensions 0–5 (units: the prior's standard deviation)";
  const vectors = [];
  for (let k = 0; k < SLIDERS; k++) { const v = new Float32Array(dim); v[k] = 1; vectors.push(v); }
  return { names: vectors.map((_, k) => `z[${k}]`), vectors, scales: new Float32Array(SLIDERS).fill(1), source: "dims" };
}

// Digits per second: `n` digits of seed 1 (latent generation included), after one to warm up.
async function bench(prec, n) {
  const d = await decoder(prec);
  d.generate(1, 0);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) d.generate(1, i);
  return n / ((performance.now() - t0) / 1000);
}
window.vaeBench = bench;

async function main() {
  state.rt = await Runtime.load(await fetchBytes("vae.wasm"));
  const seedParam = new URLSearchParams(location.search).get("seed");
  if (seedParam !== null && /^\d+$/.test(seedParam)) { state.seed = Number(seedParam); $("seed").value = seedParam; }
  await drawGrid();
  $("first-ms").textContent = window.vae.firstDigitMs.toFixed(0);
  state.dirs = await loadDirections(state.dec.float32.dim);
  window.vae.directions = state.dirs.source;
  buildSliders();
  drawEdits();
  $("status").textContent = `the module's memory: ${state.rt.memory.buffer.byteLength / 1024} KiB (owned by this page); ` +
    `float32 decoder image ${state.dec.float32.imageLen} B, arena ${state.dec.float32.arenaBytes} B`;

  $("seed").addEventListener("change", async () => {
    const v = Number($("seed").value);
    if (!Number.isInteger(v) || v < 0) return;
    state.seed = v; await drawGrid(); drawEdits();
  });
  for (const r of document.querySelectorAll("input[name=prec]")) {
    r.addEventListener("change", async () => {
      const before = state.prec;
      state.prec = r.value;
      try { await drawGrid(); drawEdits(); } catch (e) {   // e.g. a checkpoint with no int8 decoder
        $("status").textContent = `${r.value}: ${e.message}`;
        state.prec = before;
        document.querySelector(`input[name=prec][value=${before}]`).checked = true;
      }
    });
  }
  const pick = (which, v) => {
    if (!(v >= 0 && v < GRID * GRID)) return;
    state[which] = v; $(which).value = v; drawEdits();
  };
  $("a").addEventListener("change", () => pick("a", Number($("a").value)));
  $("b").addEventListener("change", () => pick("b", Number($("b").value)));
  $("grid").addEventListener("click", (e) => {
    const r = e.target.getBoundingClientRect();
    const i = Math.floor((e.clientY - r.top) / r.height * GRID) * GRID + Math.floor((e.clientX - r.left) / r.width * GRID);
    pick(e.shiftKey ? "b" : "a", i);
  });
  $("reset").addEventListener("click", () => {
    state.s.fill(0);
    for (let k = 0; k < SLIDERS; k++) { $(`s${k}`).value = 0; $(`s${k}`).nextSibling.textContent = "0.00"; }
    drawEdits();
  });
  $("bench").addEventListener("click", async () => {
    const f = await bench("float32", 200), q = await bench("int8", 400);
    $("bench-out").textContent = `float32 ${f.toFixed(0)}, int8 ${q.toFixed(0)}`;
  });
}

window.vae.ready = main().then(() => true, (e) => {
  $("status").textContent = `error: ${e.message}`;
  window.vae.error = String(e.message);
  return false;
});
