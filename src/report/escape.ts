/** Escaping for text placed in HTML / SVG content and attribute values. */

/**
 * Escapes `& < > " '` so any string is safe as element text or a quoted attribute value.
 * @example escapeXml('<script>') // '&lt;script&gt;'
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
