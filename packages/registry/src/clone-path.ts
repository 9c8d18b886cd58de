/**
 * Finds the first part of `value` that the structured clone of a `postMessage` refuses (a
 * function, a symbol, a promise, a weak collection) and says where it is, as a path from
 * `root` (`args[0].user.callback is a function`). `undefined` when nothing is found.
 *
 * The function is self-contained on purpose: the worker bootstrap embeds its source text, so
 * the host and the worker describe a clone failure the same way.
 *
 * @internal
 */
export function uncloneablePath(value: unknown, root: string): string | undefined {
  const seen = new Set<unknown>()
  const queue: { readonly v: unknown; readonly p: string }[] = [{ v: value, p: root }]
  const what = (v: unknown): string | undefined => {
    if (typeof v === 'function') return 'is a function'
    if (typeof v === 'symbol') return 'is a symbol'
    if (v instanceof Promise) return 'is a promise'
    if (v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) return 'is a weak reference'
    return undefined
  }
  for (let visited = 0; queue.length > 0 && visited < 100_000; visited++) {
    const { v, p } = queue.shift() as { readonly v: unknown; readonly p: string }
    const problem = what(v)
    if (problem !== undefined) return `${p} ${problem}`
    if (v === null || typeof v !== 'object' || seen.has(v)) continue
    seen.add(v)
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp || v instanceof Error) continue
    if (v instanceof Map) {
      let k = 0
      for (const [key, item] of v) {
        queue.push({ v: key, p: `${p}.<key ${k}>` }, { v: item, p: `${p}.get(${typeof key === 'string' ? JSON.stringify(key) : `<key ${k}>`})` })
        k++
      }
      continue
    }
    if (v instanceof Set) {
      let k = 0
      for (const item of v) queue.push({ v: item, p: `${p}.<item ${k++}>` })
      continue
    }
    const isArray = Array.isArray(v)
    for (const key of Object.keys(v)) {
      const step = isArray && /^\d+$/.test(key) ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
      queue.push({ v: (v as Record<string, unknown>)[key], p: p + step })
    }
  }
  return undefined
}
