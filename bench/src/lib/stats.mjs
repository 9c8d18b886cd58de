// Small statistics helpers shared by the suites.

/** Median of a list of numbers. */
export function median(values) {
  return quantile(values, 0.5)
}

/** The q-quantile (0..1) of a list of numbers, by nearest rank. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[index]
}

/** Prints rows (objects with the same keys) as an aligned text table. */
export function table(rows, log = console.log) {
  if (rows.length === 0) return
  const keys = Object.keys(rows[0])
  const cells = [keys, ...rows.map((r) => keys.map((k) => format(r[k])))]
  const widths = keys.map((_, i) => Math.max(...cells.map((row) => String(row[i]).length)))
  for (const [n, row] of cells.entries()) {
    log(row.map((c, i) => String(c).padEnd(widths[i])).join('  '))
    if (n === 0) log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}

function format(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1)
  return v ?? ''
}
