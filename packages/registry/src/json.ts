/** A JSON primitive. */
export type JsonPrimitive = string | number | boolean | null

/** A value that survives `JSON.stringify` then `JSON.parse` unchanged. */
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/** A plain object of JSON values. */
export type JsonObject = { readonly [key: string]: JsonValue }

/**
 * Returns a deep copy of `value` if it is JSON without loss, else throws a `TypeError`
 * naming the path of the first offending value.
 *
 * @internal
 */
export function toJson(value: unknown, path = 'state'): JsonValue {
  return copy(value, path, new Set())
}

function copy(value: unknown, path: string, seen: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} is ${String(value)}, not a JSON number`)
      return value
    case 'object': {
      if (value === null) return null
      if (seen.has(value)) throw new TypeError(`${path} is a cycle`)
      seen.add(value)
      try {
        if (Array.isArray(value)) return value.map((item, i) => copy(item, `${path}[${i}]`, seen))
        const proto = Object.getPrototypeOf(value) as unknown
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError(`${path} is a ${(value).constructor?.name ?? 'class instance'}, not a plain object`)
        }
        const out: Record<string, JsonValue> = {}
        for (const [key, item] of Object.entries(value)) out[key] = copy(item, `${path}.${key}`, seen)
        return out
      } finally {
        seen.delete(value)
      }
    }
    default:
      throw new TypeError(`${path} is a ${typeof value}, not JSON`)
  }
}
