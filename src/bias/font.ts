/**
 * A 3x5 pixel bitmap font (A-Z, 0-9, a little punctuation) for captions in PNG grids, so reports
 * need no font library. Lower case is drawn as upper case; unknown characters as '?'.
 */

const GLYPHS: Record<string, string> = {
  A: '010101111101101',
  B: '110101110101110',
  C: '011100100100011',
  D: '110101101101110',
  E: '111100110100111',
  F: '111100110100100',
  G: '011100101101011',
  H: '101101111101101',
  I: '111010010010111',
  J: '001001001101010',
  K: '101101110101101',
  L: '100100100100111',
  M: '101111111101101',
  N: '110101101101101',
  O: '010101101101010',
  P: '110101110100100',
  Q: '010101101110011',
  R: '110101110101101',
  S: '011100010001110',
  T: '111010010010010',
  U: '101101101101111',
  V: '101101101101010',
  W: '101101111111101',
  X: '101101010101101',
  Y: '101101010010010',
  Z: '111001010100111',
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '110001010100111',
  '3': '110001010001110',
  '4': '101101111001001',
  '5': '111100110001110',
  '6': '011100111101111',
  '7': '111001010010010',
  '8': '111101111101111',
  '9': '111101111001110',
  ' ': '000000000000000',
  '-': '000000111000000',
  _: '000000000000111',
  '.': '000000000000010',
  ',': '000000000010100',
  ':': '000010000010000',
  '/': '001001010100100',
  '(': '010100100100010',
  ')': '010001001001010',
  '=': '000111000111000',
  '+': '000010111010000',
  '%': '101001010100101',
  '?': '110001010000010',
  '!': '010010010000010',
  "'": '010010000000000',
  '*': '101010101000000',
};

/** Width in pixels of `text` drawn at `scale` (3 px per glyph plus 1 px spacing, times scale). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * 4 - 1) * scale;
}

/** Height in pixels of one line at `scale`. */
export function textHeight(scale: number): number {
  return 5 * scale;
}

/**
 * Draws `text` into an RGBA buffer (width `stride` px) with its top-left at (x, y), clipping at
 * the buffer's edges. `rgb` is the ink colour.
 */
export function drawText(
  rgba: Uint8Array,
  stride: number,
  height: number,
  text: string,
  opts: { x: number; y: number; scale: number; rgb: readonly [number, number, number] },
): void {
  const { scale, rgb } = opts;
  let cx = opts.x;
  for (const ch of text.toUpperCase()) {
    const g = GLYPHS[ch] ?? GLYPHS['?'];
    for (let r = 0; r < 5; r++) {
      for (let q = 0; q < 3; q++) {
        if (g[r * 3 + q] !== '1') continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + q * scale + dx;
            const py = opts.y + r * scale + dy;
            if (px < 0 || py < 0 || px >= stride || py >= height) continue;
            const o = 4 * (py * stride + px);
            rgba[o] = rgb[0];
            rgba[o + 1] = rgb[1];
            rgba[o + 2] = rgb[2];
            rgba[o + 3] = 255;
          }
        }
      }
    }
    cx += 4 * scale;
  }
}
