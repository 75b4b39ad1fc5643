/** Test helper: a minimal tag-balance check for our HTML/SVG output (not a full parser). */
import assert from 'node:assert/strict';

const VOID = new Set(['meta', 'img', 'br', 'hr', 'input', 'link', 'source', 'wbr']);

/** Asserts every opened tag is closed in order (void and self-closing tags excepted) and no raw '<' is left in text. */
export function assertWellFormed(markup: string, what: string): void {
  const body = markup.replace(/^<!DOCTYPE html>\s*/i, '').replace(/<style>[\s\S]*?<\/style>/g, '<style></style>');
  const stack: string[] = [];
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*(\/?)>|<|>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    if (m[0] === '<') assert.fail(`${what}: stray '<' at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (m[0] === '>') assert.fail(`${what}: stray '>' at ${m.index}: ${body.slice(Math.max(0, m.index - 40), m.index + 1)}`);
    const [, close, name, , self] = m;
    const tag = name.toLowerCase();
    if (self || (!close && VOID.has(tag))) continue;
    if (!close) stack.push(tag);
    else {
      const top = stack.pop();
      assert.equal(top, tag, `${what}: </${tag}> closes <${top}> at ${m.index}`);
    }
  }
  assert.deepEqual(stack, [], `${what}: unclosed tags`);
}

/** Every number in a coordinate-like attribute (x, y, width, d, points, ...). */
export function coordinateNumbers(svg: string): string[] {
  const out: string[] = [];
  const re = /\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height|d|points|transform|viewBox)="([^"]*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(svg))) out.push(...(m[2].match(/[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|NaN|Infinity|undefined/g) ?? []));
  return out;
}
