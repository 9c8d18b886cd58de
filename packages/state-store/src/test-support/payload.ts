// Test support: deterministic snapshot payloads whose integrity can be checked after a crash.

/** The data a crash-test child saves as snapshot number `seq` of plugin `id`. */
export interface CrashPayload {
  readonly id: string
  readonly seq: number
  readonly body: string
  readonly check: string
}

/** Builds the payload for (id, seq): a body whose length and content depend on both, and its hash. */
export function payloadFor(id: string, seq: number, maxBody = 48_000): CrashPayload {
  const seed = fnv(`${id}#${seq}`)
  const length = 16 + (seed % maxBody)
  const unit = `${id}:${seq}:${seed.toString(36)};`
  const body = unit.repeat(Math.ceil(length / unit.length)).slice(0, length)
  return { id, seq, body, check: fnv(body).toString(16) }
}

function fnv(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash
}
