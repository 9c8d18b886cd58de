/**
 * An error as it crosses a worker boundary (structured clone drops own properties of errors).
 *
 * @internal
 */
export interface SerializedError {
  readonly name: string
  readonly message: string
  readonly stack?: string | undefined
  readonly code?: unknown
  readonly tag?: string | undefined
}

/**
 * Rebuilds an `Error` from its {@link SerializedError}: same name, message, stack and code.
 *
 * @internal
 */
export function reviveError(data: SerializedError): Error {
  const error = new Error(data.message)
  Object.defineProperty(error, 'name', { value: data.name, enumerable: false, configurable: true, writable: true })
  if (data.stack !== undefined) error.stack = data.stack
  if (data.code !== undefined) (error as Error & { code?: unknown }).code = data.code
  return error
}

/**
 * Collects the function names of an API object: own keys and the prototype chain's methods
 * (class instances), without `Object.prototype`'s.
 *
 * @internal
 */
export function apiMethods(api: object): string[] {
  const names = new Set<string>()
  for (let o: object | null = api; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor') continue
      const desc = Object.getOwnPropertyDescriptor(o, key)
      if (desc !== undefined && typeof desc.value === 'function') names.add(key)
    }
  }
  return [...names]
}
