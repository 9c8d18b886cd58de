// Test support: deterministic snapshot payloads whose integrity can be checked after a crash.
import { fnv1a32 } from '@hotswap/change-detector'

/** The data a crash-test child saves as snapshot number `seq` of plugin `id`. */
export interface CrashPayload {
  readonly id: string
  readonly seq: number
  readonly body: string
  readonly check: string
}

/** Builds the payload for (id, seq): a body whose length and content depend on both, and its hash. */
export function payloadFor(id: string, seq: number, maxBody = 48_000): CrashPayload {
  const seed = fnv1a32(`${id}#${seq}`)
  const length = 16 + (seed % maxBody)
  const unit = `${id}:${seq}:${seed.toString(36)};`
  const body = unit.repeat(Math.ceil(length / unit.length)).slice(0, length)
  return { id, seq, body, check: fnv1a32(body).toString(16) }
}
