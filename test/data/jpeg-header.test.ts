import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImageBuffer } from '../../src/data/decode.js';
import { readJpegHeader } from '../../src/data/jpeg-header.js';

/** A w×h RGB gradient with the red top-left pixel the orientation tests follow. */
function rgb(w: number, h: number): Buffer {
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) raw.set([(i * 5) & 255, (i * 3) & 255, 128], i * 3);
  raw.set([255, 0, 0], 0);
  return raw;
}

test('readJpegHeader agrees with libvips on size, components and EXIF orientation (baseline, progressive, gray, every orientation, ICC, CMYK)', async () => {
  const raw = rgb(37, 21);
  const base = () => sharp(raw, { raw: { width: 37, height: 21, channels: 3 } });
  const files: [string, Buffer][] = [
    ['baseline', await base().jpeg().toBuffer()],
    ['progressive 4:4:4', await base().jpeg({ progressive: true, chromaSubsampling: '4:4:4' }).toBuffer()],
    ['gray', await base().toColourspace('b-w').jpeg().toBuffer()],
    ['ICC profile', await base().withIccProfile('p3').jpeg().toBuffer()],
    ['CMYK', await base().toColourspace('cmyk').jpeg().toBuffer()],
  ];
  for (let o = 1; o <= 8; o++) files.push([`orientation ${o}`, await base().withMetadata({ orientation: o }).jpeg().toBuffer()]);
  for (const [name, buf] of files) {
    const h = readJpegHeader(buf);
    const m = await sharp(buf).metadata();
    assert.ok(h !== null, `${name}: header not read`);
    assert.deepEqual(
      [h.width, h.height, h.precision, h.components, h.orientation],
      [m.width, m.height, 8, m.channels, m.orientation ?? 1],
      `${name}: ours vs libvips`,
    );
  }
});

test('readJpegHeader: null for what it cannot answer (not a JPEG, truncated before the frame, malformed EXIF)', async () => {
  const jpg = await sharp(rgb(8, 8), { raw: { width: 8, height: 8, channels: 3 } })
    .withMetadata({ orientation: 3 })
    .jpeg()
    .toBuffer();
  assert.equal(readJpegHeader(Buffer.from('not a jpeg at all')), null);
  assert.equal(readJpegHeader(jpg.subarray(0, 40)), null, 'cut inside the EXIF block');
  // Break the TIFF magic (42) of the EXIF block: the reader gives up rather than guess.
  const broken = Buffer.from(jpg);
  const tiff = broken.indexOf('Exif\0\0', 0, 'latin1') + 6;
  broken[tiff + (broken[tiff] === 0x49 ? 2 : 3)] = 41;
  assert.equal(readJpegHeader(broken), null);
  assert.equal(readJpegHeader(jpg)?.orientation, 3);
});

test('decoding a JPEG through the JS header gives what the libvips header path gives (EXIF 6 rotated, gray kept, crop)', async () => {
  const raw = rgb(40, 24);
  const opts = { transform: { resize: 16, centerCrop: [12, 12] as [number, number] } };
  const cases = [
    await sharp(raw, { raw: { width: 40, height: 24, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer(),
    await sharp(raw, { raw: { width: 40, height: 24, channels: 3 } })
      .toColourspace('b-w')
      .jpeg()
      .toBuffer(),
  ];
  for (const [k, buf] of cases.entries()) {
    const ours = await decodeImageBuffer(buf, `case${k}.jpg`, opts);
    // The reference: sharp's own pipeline with every step spelled out (libvips reads the header).
    const m = await sharp(buf).metadata();
    const [h0, w0] = (m.orientation ?? 1) >= 5 ? [m.width, m.height] : [m.height, m.width];
    const short = Math.min(h0, w0);
    const [h, w] = h0 === short ? [16, Math.floor((16 * w0) / h0)] : [Math.floor((16 * h0) / w0), 16];
    const top = Math.round((h - 12) / 2);
    const left = Math.round((w - 12) / 2);
    const ref = await sharp(buf)
      .rotate()
      .resize(w, h, { fit: 'fill', kernel: 'linear' })
      .extract({ top, left, width: 12, height: 12 })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.equal(ref.info.channels, 3);
    const planar = new Uint8Array(3 * 144);
    for (let p = 0; p < 144; p++) for (let c = 0; c < 3; c++) planar[c * 144 + p] = ref.data[p * 3 + c];
    assert.deepEqual([ours.c, ours.h, ours.w], [3, 12, 12]);
    assert.deepEqual(Array.from(ours.data), Array.from(planar), `case ${k}`);
  }
});
