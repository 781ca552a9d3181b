/**
 * Server-rendered HTML through a tagged template that escapes every interpolation.
 * Only values wrapped in `safe()` (or produced by `html`) pass through unescaped.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** The text as HTML text: `& < > " ' \`` as entities. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => entities[c]!);
}

/** Marks a string as trusted HTML. Never pass user input. */
export function safe(s: string): SafeHtml {
  return new SafeHtml(s);
}

function render(v: unknown): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}
