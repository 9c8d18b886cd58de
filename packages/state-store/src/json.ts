import { StateStoreError } from './errors.js'

/**
 * A JSON primitive: what `JSON.parse` can return besides objects and arrays.
 *
 * @example
 * ```ts
 * const values: JsonPrimitive[] = ['text', 42, true, null]
 * ```
 */
export type JsonPrimitive = string | number | boolean | null

/**
 * A value that survives `JSON.stringify` then `JSON.parse` unchanged: primitives (finite
 * numbers only), arrays of JSON values and plain objects with JSON values.
 *
 * @example
 * ```ts
 * const data: JsonValue = { count: 3, tags: ['a', 'b'], last: null }
 * await store.save(createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data }))
 * ```
 */
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/**
 * A plain object of JSON values, the shape of snapshot metadata.
 *
 * @example
 * ```ts
 * const metadata: JsonObject = { savedBy: 'reload', host: 'web-1' }
 * createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count: 1 }, metadata })
 * ```
 */
export type JsonObject = { readonly [key: string]: JsonValue }

/**
 * Checks that a value is JSON-serialisable without loss and returns a deep copy of it.
 *
 * Rejected, with the path of the offending value in the message: `undefined`, functions,
 * symbols, bigints, `NaN` and infinities, class instances (`Date`, `Map`, `Set`, buffers...),
 * sparse arrays, accessors and cycles. `-0` becomes `0`, as JSON would make it. The copy detaches the stored value from the caller's
 * object so later mutations cannot change a saved snapshot.
 *
 * @param value - The value to check.
 * @param label - How to name the root in messages, for example `'data'`.
 * @returns A deep copy of `value` typed as {@link JsonValue}.
 * @throws {@link StateStoreError} with code `INVALID_DATA` naming the path and the kind of value.
 * @example
 * ```ts
 * toJsonValue({ count: 1 }, 'data')           // { count: 1 }
 * toJsonValue({ at: new Date() }, 'data')     // throws INVALID_DATA: data.at is a Date ...
 * ```
 */
export function toJsonValue(value: unknown, label: string): JsonValue {
  return copy(value, label, new Set())
}

function copy(value: unknown, path: string, seen: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(value)) fail(path, `the number ${String(value)}`, 'use a finite number or null')
      return value === 0 ? 0 : value // -0 becomes 0, as through JSON
    case 'object':
      break
    default:
      fail(path, `a ${typeof value}`, 'remove it or convert it to a string, number, boolean or null')
  }
  if (value === null) return null
  if (seen.has(value)) fail(path, 'a circular reference', 'break the cycle before saving')
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      const out: JsonValue[] = []
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) fail(`${path}[${i}]`, 'a hole in a sparse array', 'fill it with null')
        out.push(copy(value[i], `${path}[${i}]`, seen))
      }
      return out
    }
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object'
      fail(path, `a ${kind} instance`, 'convert it to a plain object, array, string or number')
    }
    const out: Record<string, JsonValue> = {}
    for (const key of Reflect.ownKeys(value)) {
      const where = `${path}${formatKey(key)}`
      if (typeof key === 'symbol') fail(where, 'a symbol key', 'use string keys only')
      const descriptor = Object.getOwnPropertyDescriptor(value, key)
      if (descriptor === undefined || !descriptor.enumerable) continue
      if (!('value' in descriptor)) fail(where, 'an accessor property', 'store the plain value instead')
      // Define rather than assign so a key named "__proto__" stays an own data property.
      Object.defineProperty(out, key, {
        value: copy(descriptor.value, where, seen),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  } finally {
    seen.delete(value)
  }
}

function formatKey(key: string | symbol): string {
  if (typeof key === 'symbol') return `[${key.toString()}]`
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

function fail(path: string, what: string, hint: string): never {
  throw new StateStoreError('INVALID_DATA', `${path} is ${what}, which is not JSON-serialisable: ${hint}`, {
    details: { path },
  })
}
