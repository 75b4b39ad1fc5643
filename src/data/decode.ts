/**
 * Image decoding and deterministic preprocessing on sharp (libvips): JPEG, PNG and WebP files →
 * planar (CHW) uint8 images of 1 or 3 channels, in torchvision's terms.
 *
 * Per file, in this order (what `ImageFolder` + `Resize` + `CenterCrop` do with PIL):
 *   1. decode; EXIF orientation applied (`rotate()`), as PIL's `ImageOps.exif_transpose` would;
 *      CMYK is converted to sRGB by libvips (colour-managed: the embedded ICC profile, or libvips's
 *      default CMYK profile), 16-bit images to 8 bits;
 *   2. `resize` (shorter side → n, torchvision's truncation of the longer side) or `size` (stretch
 *      to [h, w]), bilinear with antialiasing on downscale (PIL's `BILINEAR`), with JPEG/WebP
 *      shrink-on-load when the image is at least twice the target size;
 *   3. `centerCrop` (torchvision's offsets, zero padding when the crop is larger than the image);
 *   4. channels: alpha is dropped without compositing (PIL's `convert('RGB')`); gray sources are
 *      replicated to 3 channels; colour → 1 channel by 0.299 R + 0.587 G + 0.114 B, rounded
 *      (PIL's `convert('L')`), computed after the resize.
 *
 * sharp is asynchronous: `decodeImageFiles` keeps several files in flight on libuv's threadpool.
 * `decodeImageFilesSync` runs the same code on a worker thread and blocks until it finishes, for
 * the synchronous dataset loaders (`loadDataset`).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import sharp from 'sharp';
import { DatasetError } from './errors.js';
import { centerCropBox, resizeShorterSide, type CropBox } from './geometry.js';
import { LUMA } from './image.js';
import { readJpegHeader } from './jpeg-header.js';
import { pilResizeBilinear } from './pil-resize.js';

/** Deterministic preprocessing of one image (torchvision's eval transforms). */
export interface DecodeTransform {
  /** torchvision `Resize(n)`: the shorter side becomes n pixels (bilinear, antialiased). */
  resize?: number;
  /** torchvision `CenterCrop([h, w])`, after `resize`. */
  centerCrop?: readonly [number, number];
  /** Stretch to [height, width] (bilinear, antialiased), ignoring the aspect ratio; not with `resize`. */
  size?: readonly [number, number];
}

/** What `decodeImageFile` makes of a file. */
export interface DecodeOptions {
  /** Output channels (default 3). */
  channels?: 1 | 3;
  transform?: DecodeTransform;
  /**
   * Write the pixels here (exactly c·h·w bytes of the result, e.g. one image's slot of a batch)
   * instead of into a new array; `decodeImageFiles` passes each file's slot, which spares a
   * 150-KB allocation and copy per 224-px image.
   */
  into?: Uint8Array;
}

/** One decoded image: CHW uint8 pixels. */
export interface DecodedImage {
  data: Uint8Array;
  c: 1 | 3;
  h: number;
  w: number;
}

const FORMATS = new Set(['jpeg', 'png', 'webp']);

function sniff(buf: Uint8Array): 'PNG' | 'JPEG' | 'WebP' | null {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return 'PNG';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'JPEG';
  if (buf.length >= 12 && String.fromCharCode(...buf.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...buf.subarray(8, 12)) === 'WEBP')
    return 'WebP';
  return null;
}

let configured = false;
/**
 * sharp's process-wide settings for many small images: no operation cache (each file is decoded
 * once), and one libvips thread per image, since `decodeImageFiles` already keeps one image per
 * core in flight on libuv's threadpool (4 threads by default, enough for this machine's cores).
 */
function configureSharp(): void {
  if (configured) return;
  configured = true;
  sharp.cache(false);
  sharp.concurrency(1);
}

/** The fields of sharp's `metadata()` that `decodeImageBuffer` reads. */
type HeaderMeta = Pick<sharp.Metadata, 'format' | 'orientation' | 'width' | 'height' | 'channels' | 'space' | 'hasAlpha' | 'depth'>;

/**
 * What libvips' `metadata()` says of an 8-bit gray or colour JPEG, read by `readJpegHeader` in JS
 * (one libvips loader set-up per image less); null for anything else (CMYK, 12-bit, headers it
 * cannot follow), which goes to libvips' own reader. test/data/jpeg-header.test.ts checks the two
 * agree.
 */
function plainJpegMeta(buf: Uint8Array): HeaderMeta | null {
  const h = readJpegHeader(buf);
  if (h === null || h.precision !== 8 || (h.components !== 1 && h.components !== 3)) return null;
  return {
    format: 'jpeg',
    orientation: h.orientation,
    width: h.width,
    height: h.height,
    channels: h.components as 1 | 3,
    space: h.components === 3 ? 'srgb' : 'b-w',
    hasAlpha: false,
    depth: 'uchar',
  };
}

/** Checks a transform; throws a RangeError naming the bad key. */
export function validateDecodeTransform(t: DecodeTransform): void {
  const posInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (t.resize !== undefined && !posInt(t.resize)) throw new RangeError(`transform.resize must be a positive integer, got ${t.resize}`);
  for (const k of ['centerCrop', 'size'] as const) {
    const v = t[k];
    if (v !== undefined && !(v.length === 2 && v.every(posInt)))
      throw new RangeError(`transform.${k} must be [height, width] of positive integers, got ${JSON.stringify(v)}`);
  }
  if (t.resize !== undefined && t.size !== undefined)
    throw new RangeError('transform: give resize (shorter side) or size (stretch), not both');
}

/**
 * The output [height, width] of a transform that fixes it (centerCrop or size), or null when it
 * depends on the image (no transform, or resize alone).
 */
export function fixedOutputSize(t: DecodeTransform | undefined): [number, number] | null {
  if (t?.centerCrop) return [t.centerCrop[0], t.centerCrop[1]];
  if (t?.size) return [t.size[0], t.size[1]];
  return null;
}

/**
 * Decodes one image from its bytes (`file` names it in errors). Throws a DatasetError naming the
 * file for an unknown format or a corrupt image.
 *
 * @example const img = await decodeImageBuffer(bytes, 'cat.jpg', { transform: { resize: 256, centerCrop: [224, 224] } });
 */
export async function decodeImageBuffer(buf: Uint8Array, file: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  configureSharp();
  const outC = opts.channels ?? 3;
  const t = opts.transform ?? {};
  const kind = sniff(buf);
  if (kind === null) throw new DatasetError(file, 'not a PNG, JPEG or WebP image (unrecognised file signature)');
  try {
    const img = sharp(buf, { failOn: 'error' });
    const meta = (kind === 'JPEG' ? plainJpegMeta(buf) : null) ?? (await img.metadata());
    if (!FORMATS.has(meta.format ?? '')) throw new Error(`unsupported format ${String(meta.format)}`);
    const rotated = (meta.orientation ?? 1) >= 5;
    const w0 = rotated ? meta.height : meta.width;
    const h0 = rotated ? meta.width : meta.height;
    let [h, w] = [h0, w0];
    if (t.resize !== undefined) [h, w] = resizeShorterSide(h0, w0, t.resize);
    else if (t.size !== undefined) [h, w] = [t.size[0], t.size[1]];
    // Gray sources stay one channel when one is asked for; otherwise sRGB (luma in JS after resizing).
    const grayIn = meta.channels !== undefined && meta.channels <= 2 && meta.space !== 'cmyk';
    const space = outC === 1 && grayIn ? 'b-w' : 'srgb';
    const resizes = h !== h0 || w !== w0;
    // libvips downscales (with shrink-on-load); upscaling is Pillow's bilinear in JS (libvips
    // samples differently when enlarging). libvips premultiplies alpha while resampling, Pillow's
    // convert('RGB') drops it first: an image with alpha is decoded without it before libvips resizes it.
    const vipsResize = resizes && h <= h0 && w <= w0;
    // Plain 8-bit sRGB without alpha or rotation (most photos) skips the conversion steps.
    let pipe = (meta.orientation ?? 1) > 1 ? img.rotate() : img;
    if (vipsResize && meta.hasAlpha) {
      const flat = await pipe.removeAlpha().toColourspace(space).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      pipe = sharp(flat.data, { raw: { width: flat.info.width, height: flat.info.height, channels: flat.info.channels } });
    }
    if (vipsResize) pipe.resize(w, h, { fit: 'fill', kernel: 'linear' });
    let box: CropBox | null = t.centerCrop !== undefined ? centerCropBox(h, w, t.centerCrop[0], t.centerCrop[1]) : null;
    const inside = box !== null && box.top >= 0 && box.left >= 0 && box.top + box.height <= h && box.left + box.width <= w;
    if (box !== null && inside && (!resizes || vipsResize)) {
      if (box.height !== h || box.width !== w) pipe.extract(box);
      [h, w] = [box.height, box.width];
      box = null;
    }
    const plain = meta.space === 'srgb' && meta.channels === 3 && meta.depth === 'uchar' && space === 'srgb';
    if (!plain) pipe = pipe.removeAlpha().toColourspace(space);
    const out = await pipe.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    let data: Uint8Array = out.data;
    const ic = out.info.channels;
    if (resizes && !vipsResize) data = pilResizeBilinear(data, ic, out.info.height, out.info.width, h, w);
    else if (out.info.height !== h || out.info.width !== w)
      throw new Error(`libvips produced ${out.info.height}×${out.info.width}, expected ${h}×${w}`);
    const planar = toPlanar(data, ic, h, w, outC, box === null ? opts.into : undefined);
    if (box === null) return { data: planar, c: outC, h, w };
    return { data: padCrop(planar, outC, h, w, box, opts.into), c: outC, h: box.height, w: box.width };
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    if (e instanceof RangeError && e.message.startsWith('into:')) throw e; // the caller's array, not the file
    throw new DatasetError(file, `corrupt or unreadable ${kind} image (${(e as Error).message})`, { cause: e });
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Interleaved uint8 (1, 3 channels) → planar CHW with `outC` channels. */
function toPlanar(src: Uint8Array, c: number, h: number, w: number, outC: 1 | 3, into?: Uint8Array): Uint8Array {
  const plane = h * w;
  const out = into ?? new Uint8Array(outC * plane);
  if (out.length !== outC * plane)
    throw new RangeError(`into: output is ${outC}×${h}×${w} but the array given for it holds ${out.length} bytes`);
  if (c === 1) {
    for (let k = 0; k < outC; k++) out.set(src.subarray(0, plane), k * plane);
    return out;
  }
  if (c !== 3) throw new Error(`unexpected ${c} channels after conversion`);
  if (outC === 3 && plane % 4 === 0 && src.byteOffset % 4 === 0 && out.byteOffset % 4 === 0 && LITTLE_ENDIAN) {
    // Four pixels (three 32-bit words) at a time: a quarter of the memory operations of the
    // per-byte loop below (about 0.45 → 0.1 ms for 224×224).
    const q = plane / 4;
    const s32 = new Uint32Array(src.buffer, src.byteOffset, 3 * q);
    const o32 = new Uint32Array(out.buffer, out.byteOffset, 3 * q);
    for (let i = 0, j = 0; i < q; i++, j += 3) {
      const a = s32[j]; // r0 g0 b0 r1 (lowest byte first)
      const b = s32[j + 1]; // g1 b1 r2 g2
      const c = s32[j + 2]; // b2 r3 g3 b3
      o32[i] = (a & 0xff) | ((a >>> 24) << 8) | (((b >>> 16) & 0xff) << 16) | (((c >>> 8) & 0xff) << 24);
      o32[q + i] = ((a >>> 8) & 0xff) | ((b & 0xff) << 8) | ((b >>> 24) << 16) | (((c >>> 16) & 0xff) << 24);
      o32[2 * q + i] = ((a >>> 16) & 0xff) | (((b >>> 8) & 0xff) << 8) | ((c & 0xff) << 16) | ((c >>> 24) << 24);
    }
  } else if (outC === 3) {
    for (let i = 0, j = 0; i < plane; i++, j += 3) {
      out[i] = src[j];
      out[plane + i] = src[j + 1];
      out[2 * plane + i] = src[j + 2];
    }
  } else {
    for (let i = 0, j = 0; i < plane; i++, j += 3) out[i] = Math.round(LUMA[0] * src[j] + LUMA[1] * src[j + 1] + LUMA[2] * src[j + 2]);
  }
  return out;
}

/** The box of a CHW image, zeros where the box leaves the image. */
function padCrop(src: Uint8Array, c: number, h: number, w: number, box: CropBox, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(c * box.height * box.width);
  if (out.length !== c * box.height * box.width)
    throw new RangeError(`into: output is ${c}×${box.height}×${box.width} but the array given for it holds ${out.length} bytes`);
  out.fill(0);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < box.height; y++) {
      const sy = y + box.top;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < box.width; x++) {
        const sx = x + box.left;
        if (sx >= 0 && sx < w) out[(k * box.height + y) * box.width + x] = src[(k * h + sy) * w + sx];
      }
    }
  return out;
}

/** Reads and decodes one file; errors name it. */
export async function decodeImageFile(file: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new DatasetError(file, `cannot read image (${(e as Error).message})`, { cause: e });
  }
  return decodeImageBuffer(buf, file, opts);
}

/** Options of `decodeImageFiles`. */
export interface DecodeFilesOptions extends Omit<DecodeOptions, 'into'> {
  /** Files decoded at once (default: the number of cores, at least 2). */
  concurrency?: number;
}

/** Many images in one buffer: n × c × h × w, sample-major CHW. */
export interface DecodedBatch {
  images: Uint8Array;
  n: number;
  c: 1 | 3;
  h: number;
  w: number;
}

/**
 * Decodes `files` concurrently into one NCHW buffer, in the order given. Every image must come out
 * at one size: give a transform with `centerCrop` or `size`, or images that share their size (the
 * first file that differs is named in the error).
 *
 * @example await decodeImageFiles(paths, { transform: { resize: 256, centerCrop: [224, 224] } })
 */
export async function decodeImageFiles(files: readonly string[], opts: DecodeFilesOptions = {}): Promise<DecodedBatch> {
  if (opts.transform) validateDecodeTransform(opts.transform);
  const c = opts.channels ?? 3;
  const n = files.length;
  const conc = Math.max(1, opts.concurrency ?? Math.max(4, os.availableParallelism()));
  const fixed = fixedOutputSize(opts.transform);
  let dims: [number, number] | null = fixed;
  let first = '';
  let images: Uint8Array | null = fixed ? new Uint8Array(n * c * fixed[0] * fixed[1]) : null;
  // Without a fixed size, outputs wait until the first file (in order) has set it.
  const pending = new Map<number, DecodedImage>();
  let placed = 0;
  const place = (i: number, img: DecodedImage): void => {
    if (dims === null) {
      if (i !== placed) {
        pending.set(i, img);
        return;
      }
      dims = [img.h, img.w];
      first = files[i];
      images = new Uint8Array(n * c * img.h * img.w);
    }
    if (img.h !== dims[0] || img.w !== dims[1])
      throw new DatasetError(
        files[i],
        `image is ${img.h}×${img.w} but earlier images are ${dims[0]}×${dims[1]}; ` +
          `set a size, or resize + centerCrop, to bring them all to one size (the first image, ${first}, set ${dims[0]}×${dims[1]})`,
      );
    if (img.data.buffer !== images!.buffer) images!.set(img.data, i * img.data.length);
    placed++;
    for (const [j, p] of pending) {
      pending.delete(j);
      place(j, p);
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      // With a fixed output size, each file decodes straight into its slot of the batch.
      const per = dims === null ? 0 : c * dims[0] * dims[1];
      const into = fixed !== null ? images!.subarray(i * per, (i + 1) * per) : undefined;
      place(i, await decodeImageFile(files[i], into ? { ...opts, into } : opts));
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker));
  const [h, w] = dims ?? [0, 0];
  return { images: images ?? new Uint8Array(0), n, c, h, w };
}

/** The message a decode worker sends back. */
type WorkerReply = { ok: true; batch: DecodedBatch } | { ok: false; file: string | null; message: string };

/** This thread's decode worker: started by the first `decodeImageFilesSync` call, kept for the next. */
let decodeWorker: { worker: Worker; port: MessagePort; signal: Int32Array } | null = null;

/**
 * The decode worker, started once per thread and kept: starting one costs about 0.6 s of CPU
 * under tsx (loading this module and sharp), which a shard-cache build paid once per shard
 * (49 times for 50,000 images) and a folder loaded as train and test twice. It is unref'd (it never
 * keeps the process alive) and idles in a message wait between calls.
 */
function getDecodeWorker(): NonNullable<typeof decodeWorker> {
  // Signal 2: the kept worker has exited (its 'exit' event may not have run yet).
  if (decodeWorker !== null && Atomics.load(decodeWorker.signal, 0) !== 2) return decodeWorker;
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const self = import.meta.url;
  // Under tsx (a development checkout) the worker registers tsx's loader before importing this .ts file.
  const tsxApi = self.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { self, tsxApi, signal, port: port2 }, transferList: [port2] });
  worker.unref();
  port1.unref();
  const entry = { worker, port: port1, signal };
  worker.once('exit', () => {
    if (decodeWorker === entry) decodeWorker = null;
  });
  decodeWorker = entry;
  return entry;
}

/**
 * `decodeImageFiles` for synchronous callers: runs it on this thread's decode worker (whose libuv
 * threadpool does the decoding; the worker is started on first use and kept) and blocks this
 * thread until the result is back (no copy: the pixel buffer is transferred). Same result and
 * errors as the async version.
 */
export function decodeImageFilesSync(files: readonly string[], opts: DecodeFilesOptions = {}): DecodedBatch {
  if (opts.transform) validateDecodeTransform(opts.transform);
  if (files.length === 0) return { images: new Uint8Array(0), n: 0, c: opts.channels ?? 3, h: 0, w: 0 };
  const w = getDecodeWorker();
  Atomics.store(w.signal, 0, 0);
  w.port.postMessage({ files, opts });
  while (Atomics.load(w.signal, 0) === 0) Atomics.wait(w.signal, 0, 0, 1000);
  const msg = receiveMessageOnPort(w.port)?.message as WorkerReply | undefined;
  if (msg === undefined) {
    // The worker ended (signal 2) without replying: drop it; the next call starts a fresh one.
    decodeWorker = null;
    void w.worker.terminate();
    throw new Error('image decode worker exited without a result');
  }
  if (!msg.ok) throw msg.file !== null ? new DatasetError(msg.file, msg.message.slice(msg.file.length + 2)) : new Error(msg.message);
  return msg.batch;
}

/**
 * The worker's bootstrap (CommonJS, evaluated): load this module, then for each job decode, reply
 * and signal (1); on exit, signal 2 so a waiting caller does not wait forever.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { self, tsxApi, signal, port } = workerData;
const done = (v) => { Atomics.store(signal, 0, v); Atomics.notify(signal, 0); };
process.on('exit', () => done(2));
const ready = (async () => {
  if (tsxApi) (await import(tsxApi)).register();
  return import(self);
})();
port.on('message', async ({ files, opts }) => {
  try {
    const m = await ready;
    const batch = await m.decodeImageFiles(files, opts);
    port.postMessage({ ok: true, batch }, [batch.images.buffer]);
  } catch (e) {
    port.postMessage({ ok: false, file: e && e.name === 'DatasetError' ? e.file : null, message: String(e && e.stack && !e.file ? e.stack : e.message) });
  }
  done(1);
});
`;
