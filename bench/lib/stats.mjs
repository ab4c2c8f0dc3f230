// Small statistics and text-table helpers for benchmark reports.

export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const min = (values) => (values.length ? Math.min(...values) : NaN);
export const max = (values) => (values.length ? Math.max(...values) : NaN);
export const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);

/** 1234567.8 -> "1,234,568"; NaN -> "n/a". */
export function formatInt(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

/** Ratio with a fixed number of decimals; "n/a" when either side is missing. */
export function formatRatio(n, digits = 2) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Ratio as a multiplier: 7.321 -> "7.32x"; "n/a" when missing. */
export function formatTimes(n, digits = 2) {
  return Number.isFinite(n) ? `${n.toFixed(digits)}x` : 'n/a';
}

/**
 * Prints rows as an aligned text table.
 * columns: [{ title, align: 'left' | 'right' }]; rows: arrays of strings.
 */
export function printTable(columns, rows, out = console.log) {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => String(r[i]).length)));
  const cell = (text, i) =>
    columns[i].align === 'left' ? String(text).padEnd(widths[i]) : String(text).padStart(widths[i]);
  out(columns.map((c, i) => cell(c.title, i)).join('  '));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) out(row.map(cell).join('  '));
}

/** median, min and max of a list of rates. */
export function spread(values) {
  return { median: median(values), min: min(values), max: max(values) };
}

/**
 * Column specs for printTable from titles: a title starting with '<' is
 * left-aligned (the '<' is dropped), any other is right-aligned.
 */
export function columns(...titles) {
  return titles.map((t) => (t.startsWith('<') ? { title: t.slice(1), align: 'left' } : { title: t, align: 'right' }));
}

/** Label of a result row: "(failed)" appended when it failed without a single sample. */
export function failedLabel(name, error, sampleCount) {
  return error && sampleCount === 0 ? `${name} (failed)` : name;
}
