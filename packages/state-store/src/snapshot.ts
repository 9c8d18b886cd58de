import { parse as parseSemver } from 'semver'
import { StateStoreError } from './errors.js'
import { toJsonValue } from './json.js'
import type { JsonObject, JsonValue } from './json.js'
import { validatePluginId } from './plugin-id.js'

/**
 * One saved state of one plugin version: what a plugin's `saveState()` returned, with the
 * facts needed to hand it to the next version.
 *
 * `data` and `metadata` are JSON values; a snapshot read back from a store is a deep copy,
 * so mutating it never changes what is stored.
 *
 * @typeParam T - The shape of `data`, {@link JsonValue} when unknown.
 *
 * @example
 * ```ts
 * const snapshot: StateSnapshot | undefined = await store.latest('counter')
 * if (snapshot) console.log(snapshot.pluginVersion, new Date(snapshot.timestamp), snapshot.data)
 * ```
 */
export interface StateSnapshot<T = JsonValue> {
  /** The plugin's id (see {@link validatePluginId}). */
  readonly pluginId: string
  /** The semver version of the plugin that produced the state, for example `'1.4.0'`. */
  readonly pluginVersion: string
  /** The plugin's own version of the shape of `data`, a non-negative integer (default 1). */
  readonly schemaVersion: number
  /** When the snapshot was taken, in milliseconds since the Unix epoch. */
  readonly timestamp: number
  /** The plugin's state. */
  readonly data: T
  /** Free-form facts about the snapshot (reason, host, counts...), a JSON object. */
  readonly metadata: JsonObject
}

/**
 * What {@link createSnapshot} needs; everything but the id, version and data has a default.
 *
 * @example
 * ```ts
 * const input: CreateSnapshotInput<{ count: number }> = { pluginId: 'counter', pluginVersion: '1.2.0', data: { count: 41 }, schemaVersion: 2 }
 * await store.save(createSnapshot(input))
 * ```
 */
export interface CreateSnapshotInput<T = JsonValue> {
  /** The plugin's id. */
  readonly pluginId: string
  /** The plugin's semver version. */
  readonly pluginVersion: string
  /** The state to keep; must be JSON-serialisable. */
  readonly data: T
  /** The shape version of `data`. Default `1`. */
  readonly schemaVersion?: number
  /** Milliseconds since the epoch. Default `Date.now()`. */
  readonly timestamp?: number
  /** Extra facts. Default `{}`. */
  readonly metadata?: JsonObject
}

/**
 * Creates a validated snapshot whose `data` and `metadata` are deep copies of the input.
 *
 * @param input - The plugin id, version and data, and optionally `schemaVersion`,
 *   `timestamp` and `metadata`.
 * @returns A new {@link StateSnapshot}.
 * @throws {@link StateStoreError} `INVALID_ID` for a bad id; `INVALID_DATA` when the version is
 *   not semver, `schemaVersion` is not a non-negative integer, `timestamp` is not finite, or
 *   `data`/`metadata` is not JSON-serialisable (the message names the offending path).
 * @example
 * ```ts
 * const snapshot = createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count: 3 } })
 * await store.save(snapshot)
 * ```
 */
export function createSnapshot<T = JsonValue>(input: CreateSnapshotInput<T>): StateSnapshot<T> {
  return toSnapshot<T>({
    pluginId: input.pluginId,
    pluginVersion: input.pluginVersion,
    schemaVersion: input.schemaVersion ?? 1,
    timestamp: input.timestamp ?? Date.now(),
    data: input.data,
    metadata: input.metadata ?? {},
  })
}

/**
 * A path into snapshot data: `'a.b.0'` or `['a', 'b', 0]` (use the array form for keys with dots).
 *
 * @example
 * ```ts
 * readValue(snapshot, 'session.user', '')           // dotted string
 * readValue(snapshot, ['items', 0, 'name'], '')    // array form, with an index
 * ```
 */
export type ValuePath = string | readonly (string | number)[]

/**
 * Reads one value out of a snapshot's data with a fallback, typed by the fallback or a guard.
 *
 * Without a guard, the value found must have the same JSON kind as the fallback (string,
 * number, boolean, null, array or object), otherwise the fallback is returned; with a
 * guard, the guard decides. A missing snapshot or path also gives the fallback.
 *
 * @param snapshot - The snapshot to read, or `undefined` (for example `await store.latest(id)`).
 * @param path - Where the value is in `data`; `''` or `[]` means `data` itself.
 * @param fallback - What to return when the value is missing or of the wrong kind.
 * @param guard - Optional type guard that the value must pass.
 * @returns The value at `path`, or `fallback`.
 * @throws Whatever `guard` throws (its own error propagates).
 * @example
 * ```ts
 * const count = readValue(await store.latest('counter'), 'count', 0)            // number
 * const names = readValue(snapshot, ['users'], [] as string[], isStringArray)   // string[]
 * ```
 */
export function readValue<V>(
  snapshot: StateSnapshot<unknown> | undefined,
  path: ValuePath,
  fallback: V,
  guard?: (value: unknown) => value is V,
): V {
  if (snapshot === undefined) return fallback
  const keys = typeof path === 'string' ? (path === '' ? [] : path.split('.')) : path
  let current: unknown = snapshot.data
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return fallback
    const name = String(key)
    if (!Object.prototype.hasOwnProperty.call(current, name)) return fallback
    current = (current as Record<string, unknown>)[name]
  }
  if (guard !== undefined) return guard(current) ? current : fallback
  return jsonKind(current) === jsonKind(fallback) ? (current as V) : fallback
}

/**
 * A plugin's own compatibility rule: gets the snapshot's plugin version and the version
 * about to receive it, returns whether the state can be used as is.
 *
 * @example
 * ```ts
 * // accept any snapshot written by 1.x or 2.x
 * const rule: CompatibilityRule = (from) => from.startsWith('1.') || from.startsWith('2.')
 * if (isCompatible(snapshot, '2.0.0', rule)) restore(snapshot.data)
 * ```
 */
export type CompatibilityRule = (snapshotVersion: string, targetVersion: string, snapshot: StateSnapshot<unknown>) => boolean

/**
 * Tells whether a snapshot can be handed to a given plugin version without migration.
 *
 * The default rule is "same semver major" (`1.2.0` -> `1.9.3` yes, `1.9.3` -> `2.0.0` no;
 * pre-releases count as their major), compared with the `semver` package. `'minor'` also
 * requires the same minor, `'exact'` the same version; a function is the plugin's own rule.
 *
 * @param snapshot - The saved snapshot.
 * @param version - The semver version of the plugin that would receive it.
 * @param rule - `'major'` (default), `'minor'`, `'exact'` or a {@link CompatibilityRule}.
 * @returns `true` when the snapshot's state can be used without `migrateState`.
 * @throws {@link StateStoreError} `INVALID_DATA` when either version is not valid semver.
 * @example
 * ```ts
 * if (!isCompatible(snapshot, plugin.version)) state = plugin.migrateState(snapshot.data, snapshot.pluginVersion)
 * ```
 */
export function isCompatible(
  snapshot: StateSnapshot<unknown>,
  version: string,
  rule: 'major' | 'minor' | 'exact' | CompatibilityRule = 'major',
): boolean {
  const from = parseVersion(snapshot.pluginVersion, `snapshot of "${snapshot.pluginId}"`)
  const to = parseVersion(version, 'target')
  if (typeof rule === 'function') return rule(from.version, to.version, snapshot)
  switch (rule) {
    case 'major':
      return from.major === to.major
    case 'minor':
      return from.major === to.major && from.minor === to.minor
    case 'exact':
      return from.compare(to) === 0
  }
}

/**
 * Validates an untrusted snapshot-shaped value and returns a detached copy.
 *
 * @internal Used by the store on save and by adapters when decoding.
 */
export function toSnapshot<T = JsonValue>(value: unknown): StateSnapshot<T> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StateStoreError('INVALID_DATA', 'a snapshot must be an object with pluginId, pluginVersion, data...')
  }
  const input = value as Record<string, unknown>
  validatePluginId(input.pluginId)
  const id = input.pluginId
  if (typeof input.pluginVersion !== 'string' || parseSemver(input.pluginVersion) === null) {
    throw new StateStoreError(
      'INVALID_DATA',
      `snapshot of "${id}": pluginVersion ${JSON.stringify(input.pluginVersion)} is not a semver version such as "1.0.0"`,
    )
  }
  const schemaVersion = input.schemaVersion
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion) || schemaVersion < 0) {
    throw new StateStoreError('INVALID_DATA', `snapshot of "${id}": schemaVersion must be a non-negative integer`)
  }
  if (typeof input.timestamp !== 'number' || !Number.isFinite(input.timestamp)) {
    throw new StateStoreError('INVALID_DATA', `snapshot of "${id}": timestamp must be a finite number of milliseconds`)
  }
  if (!('data' in input)) throw new StateStoreError('INVALID_DATA', `snapshot of "${id}": data is missing`)
  const metadata = jsonOf(id, input.metadata ?? {}, 'metadata')
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new StateStoreError('INVALID_DATA', `snapshot of "${id}": metadata must be a plain object`)
  }
  return {
    pluginId: id,
    pluginVersion: input.pluginVersion,
    schemaVersion,
    timestamp: input.timestamp,
    data: jsonOf(id, input.data, 'data') as T,
    metadata: metadata as JsonObject,
  }
}

function jsonOf(id: string, value: unknown, label: string): JsonValue {
  try {
    return toJsonValue(value, label)
  } catch (error) {
    if (!(error instanceof StateStoreError)) throw error
    throw new StateStoreError(error.code, `snapshot of "${id}": ${error.message}`, { details: error.details })
  }
}

function parseVersion(version: string, what: string): NonNullable<ReturnType<typeof parseSemver>> {
  const parsed = typeof version === 'string' ? parseSemver(version) : null
  if (parsed === null) {
    throw new StateStoreError('INVALID_DATA', `${what} version ${JSON.stringify(version)} is not a semver version`)
  }
  return parsed
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}
