// vae.js: the decoder runtime's WebAssembly module (wasm/build.sh) behind a small JS class. The
// same file serves the page (web/app.js) and the tests (wasm/node-test.mjs), so the tests run the
// code the page runs. No framework, no build step, no dependencies: an ES module.
//
// The module has no allocator and imports its memory: this file creates the memory and places
// everything (a decoder's state, its image, its arena, the latent and pixel buffers) above the
// module's __heap_base, growing the memory as needed. C interface: include/vae_decoder.h.

const PAGE = 65536;

export const PIXELS = 784;

export class Runtime {
  // bytes: the module (ArrayBuffer or typed array). Returns a Runtime.
  static async load(bytes) {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
    return new Runtime(instance, memory);
  }

  constructor(instance, memory) {
    this.x = instance.exports;
    this.memory = memory;
    this.top = this.x.__heap_base.value;   // bump pointer: nothing is ever freed
  }

  // `n` bytes at `align` in the module's memory; returns the address.
  alloc(n, align = 16) {
    const p = (this.top + align - 1) & ~(align - 1);
    const end = p + n;
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return p;
  }

  u8(p, n) { return new Uint8Array(this.memory.buffer, p, n); }
  f32(p, n) { return new Float32Array(this.memory.buffer, p, n); }

  status(rc) {
    const p = this.x.vae_status_string(rc);
    const b = new Uint8Array(this.memory.buffer);
    let e = p;
    while (b[e] !== 0) e++;
    return new TextDecoder().decode(b.subarray(p, e));
  }

  check(rc, what) {
    if (rc !== 0) throw new Error(`${what}: ${this.status(rc)} (status ${rc})`);
  }

  // SHA-256 of bytes (a Uint8Array anywhere), as hex; computed by the runtime's own SHA-256.
  sha256(bytes) {
    if (!this.shaBuf || this.shaCap < bytes.length) {
      this.shaCap = Math.max(bytes.length, PIXELS * 100);
      this.shaBuf = this.alloc(this.shaCap);
      this.shaOut = this.alloc(32);
    }
    this.u8(this.shaBuf, bytes.length).set(bytes);
    this.check(this.x.vae_sha256(this.shaBuf, bytes.length, this.shaOut), "vae_sha256");
    return Array.from(this.u8(this.shaOut, 32), (v) => v.toString(16).padStart(2, "0")).join("");
  }
}

export class Decoder {
  // image: a decoder image (docs/checkpoint-format.md, VAED), float32 or int8.
  constructor(rt, image) {
    const x = rt.x;
    this.rt = rt;
    const bytes = image instanceof Uint8Array ? image : new Uint8Array(image);
    this.imageLen = bytes.length;
    this.image = rt.alloc(bytes.length, 16);
    rt.u8(this.image, bytes.length).set(bytes);
    const sizeOut = rt.alloc(4, 4);
    rt.check(x.vae_decoder_arena_size(this.image, bytes.length, sizeOut), "vae_decoder_arena_size");
    const arenaBytes = new Uint32Array(rt.memory.buffer, sizeOut, 1)[0];
    const stateSize = x.vae_decoder_state_size();
    this.state = rt.alloc(stateSize, Math.max(16, x.vae_decoder_state_align()));
    this.arena = rt.alloc(arenaBytes, 16);
    rt.check(x.vae_decoder_init(this.state, stateSize, this.image, bytes.length, this.arena, arenaBytes),
      "vae_decoder_init");
    this.precision = x.vae_decoder_precision(this.state) === 2 ? "int8" : "float32";
    this.dim = x.vae_decoder_latent_dim(this.state);
    this.pixels = x.vae_decoder_pixel_count(this.state);
    this.latentBuf = rt.alloc(4 * this.dim, 16);
    this.pixelBuf = rt.alloc(this.pixels, 16);
    this.arenaBytes = arenaBytes;
  }

  // The latent of image `index` of `seed`, exactly as `vae-gen --seed` makes it.
  latent(seed, index) {
    const rt = this.rt;
    rt.check(rt.x.vae_latent(BigInt(seed), BigInt(index), this.dim, this.latentBuf), "vae_latent");
    return Float32Array.from(rt.f32(this.latentBuf, this.dim));
  }

  // latent (Float32Array of dim) -> a new Uint8Array of pixels.
  decode(latent) {
    const rt = this.rt;
    rt.f32(this.latentBuf, this.dim).set(latent);
    rt.check(rt.x.vae_decoder_decode(this.state, this.latentBuf, this.pixelBuf), "vae_decoder_decode");
    return Uint8Array.from(rt.u8(this.pixelBuf, this.pixels));
  }

  // Image `index` of `seed`: what `vae-gen --seed seed` writes for it, bit for bit.
  generate(seed, index) {
    const rt = this.rt;
    rt.check(rt.x.vae_generate(this.state, BigInt(seed), BigInt(index), this.pixelBuf), "vae_generate");
    return Uint8Array.from(rt.u8(this.pixelBuf, this.pixels));
  }

  // Images 0..n-1 of `seed`, concatenated (what `vae-gen --seed seed -n n` hashes).
  grid(seed, n) {
    const out = new Uint8Array(n * this.pixels);
    for (let i = 0; i < n; i++) out.set(this.generate(seed, i), i * this.pixels);
    return out;
  }
}
