// Deterministic snapshot payloads for the state-store soak: content derived from (id, seq),
// so a torn or mixed snapshot is recognised. Same construction as the package's crash test.

/** The data saved as snapshot `seq` of plugin `id`. */
export function payloadFor(id, seq, maxBody = 48_000) {
  const seed = fnv(`${id}#${seq}`)
  const length = 16 + (seed % maxBody)
  const unit = `${id}:${seq}:${seed.toString(36)};`
  const body = unit.repeat(Math.ceil(length / unit.length)).slice(0, length)
  return { id, seq, body, check: fnv(body).toString(16) }
}

function fnv(text) {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash
}
