/**
 * A JPEG header reader in JS: the frame (SOF) size, precision and component count, and the EXIF
 * orientation, read from the markers before the first scan. `decodeImageBuffer` uses it instead of
 * sharp's `metadata()` for plain JPEGs: that call sets up a libvips loader per image (about 0.2 ms
 * of CPU, some 8% of a 500×375 photo's decode + resize), this reads a few hundred bytes.
 *
 * It answers only what it can answer for certain and returns null otherwise (no SOF before the
 * first scan, truncated segments, an EXIF block it cannot follow), and the caller falls back to
 * libvips' own header read.
 */

/** What `readJpegHeader` finds. */
export interface JpegHeader {
  /** Frame width and height in pixels, before EXIF orientation. */
  width: number;
  height: number;
  /** Bits per sample (8 for almost every JPEG; 12 exists). */
  precision: number;
  /** Colour components: 1 (gray), 3 (YCbCr or RGB), 4 (CMYK or YCCK). */
  components: number;
  /** EXIF orientation tag (1-8), 1 when there is no EXIF block or no orientation tag. */
  orientation: number;
}

/** Start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC). */
const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * Reads a JPEG's frame header and EXIF orientation; null when `buf` is not a JPEG whose header
 * this reader can follow to the end.
 *
 * @example readJpegHeader(fs.readFileSync('photo.jpg')) // { width: 500, height: 375, precision: 8, components: 3, orientation: 1 }
 */
export function readJpegHeader(buf: Uint8Array): JpegHeader | null {
  const n = buf.length;
  if (n < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  const u16 = (i: number): number => (buf[i] << 8) | buf[i + 1];
  let orientation = 1;
  let exifSeen = false;
  let i = 2;
  while (i + 4 <= n) {
    if (buf[i] !== 0xff) return null;
    const m = buf[i + 1];
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (m === 0xd9 || m === 0xda) return null; // end of image or start of scan before any frame header
    const len = u16(i + 2);
    if (len < 2 || i + 2 + len > n) return null;
    const seg = i + 4;
    if (isSof(m)) {
      if (len < 8) return null;
      const header = { precision: buf[seg], height: u16(seg + 1), width: u16(seg + 3), components: buf[seg + 5], orientation };
      // A height of 0 is defined later by a DNL marker; leave such files to libvips.
      return header.height > 0 && header.width > 0 ? header : null;
    }
    // APP1 "Exif\0\0". Two of them (which would libvips take?) are left to libvips.
    if (m === 0xe1 && len >= 8 && String.fromCharCode(buf[seg], buf[seg + 1], buf[seg + 2], buf[seg + 3]) === 'Exif') {
      if (exifSeen) return null;
      exifSeen = true;
      const o = exifOrientation(buf.subarray(seg + 6, i + 2 + len));
      if (o === null) return null;
      orientation = o;
    }
    i += 2 + len;
  }
  return null;
}

/**
 * The orientation tag (0x0112) of a TIFF block's first IFD, 1 when absent, null when the block is
 * malformed or the value is out of 1-8.
 */
function exifOrientation(t: Uint8Array): number | null {
  if (t.length < 8) return null;
  const le = t[0] === 0x49 && t[1] === 0x49; // "II"
  if (!le && !(t[0] === 0x4d && t[1] === 0x4d)) return null; // nor "MM"
  const u16 = (i: number): number => (le ? t[i] | (t[i + 1] << 8) : (t[i] << 8) | t[i + 1]);
  const u32 = (i: number): number => (le ? u16(i) + u16(i + 2) * 65536 : u16(i) * 65536 + u16(i + 2));
  if (u16(2) !== 42) return null;
  const ifd = u32(4);
  if (ifd + 2 > t.length) return null;
  const count = u16(ifd);
  if (ifd + 2 + count * 12 > t.length) return null;
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + k * 12;
    if (u16(e) !== 0x0112) continue;
    // SHORT (type 3), count 1: the value sits in the first two bytes of the value field.
    if (u16(e + 2) !== 3 || u32(e + 4) !== 1) return null;
    const v = u16(e + 8);
    return v >= 1 && v <= 8 ? v : null;
  }
  return 1;
}
