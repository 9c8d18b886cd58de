// Deterministic snapshot payloads for the state-store soak: content derived from (id, seq),
// so a torn or mixed snapshot is recognised. Same construction as the package's crash test.
import { fnv1a32 } from '@hotswap/change-detector'

/** The data saved as snapshot `seq` of plugin `id`. */
export function payloadFor(id, seq, maxBody = 48_000) {
  const seed = fnv1a32(`${id}#${seq}`)
  const length = 16 + (seed % maxBody)
  const unit = `${id}:${seq}:${seed.toString(36)};`
  const body = unit.repeat(Math.ceil(length / unit.length)).slice(0, length)
  return { id, seq, body, check: fnv1a32(body).toString(16) }
}
