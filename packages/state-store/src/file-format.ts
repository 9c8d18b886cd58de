import { createHash } from 'node:crypto'
import { StateStoreError } from './errors.js'
import { toSnapshot } from './snapshot.js'
import type { StateSnapshot } from './snapshot.js'

/**
 * The snapshot file format this release writes.
 *
 * Format 2 (current): one header line, then the snapshot as UTF-8 JSON:
 *
 * ```
 * hotswap-state <format> <body byte length> <sha256 hex>\n<body>
 * ```
 *
 * The SHA-256 covers `hotswap-state <format> <length>\n` followed by the body, so a flipped
 * bit anywhere (format number included) fails the check. The envelope (header layout and
 * what the hash covers) is fixed for every later format, which lets a reader tell a
 * damaged file (`CORRUPT`) from an intact file of a newer format (`UNSUPPORTED_VERSION`).
 *
 * Format 1 (written by pre-release builds, read and migrated): two lines,
 * `{"format":1,"fnv1a32":"<8 hex>"}\n<snapshot JSON>`, the FNV-1a 32 hash over the second
 * line, and a snapshot of shape `{ id, version, savedAt, state }` (no schema version, no
 * metadata).
 */
export const FILE_FORMAT_VERSION = 2

/** The result of {@link decodeSnapshotFile}: the snapshot and the format it was stored in. */
export interface DecodedFile {
  readonly snapshot: StateSnapshot
  readonly format: number
}

const MAGIC = 'hotswap-state'
const HEADER = /^hotswap-state (\d{1,9}) (\d{1,15}) ([0-9a-f]{64})$/
const MAX_HEADER = 128

/**
 * Serialises a snapshot into the bytes of a format-2 file.
 *
 * @internal Used by the file adapter.
 */
export function encodeSnapshotFile(snapshot: StateSnapshot): Buffer {
  const json = JSON.stringify(snapshot)
  const bodyLength = Buffer.byteLength(json, 'utf8')
  const prefix = `${MAGIC} ${FILE_FORMAT_VERSION} ${bodyLength}`
  // The header has a fixed size once the length is known: encode the body once, in place.
  const headerLength = prefix.length + 1 + 64 + 1
  const file = Buffer.allocUnsafe(headerLength + bodyLength)
  file.write(json, headerLength, 'utf8')
  const digest = createHash('sha256').update(`${prefix}\n`).update(file.subarray(headerLength)).digest('hex')
  file.write(`${prefix} ${digest}\n`, 0, 'latin1')
  return file
}

/**
 * Checks and decodes the bytes of a snapshot file of any supported format.
 *
 * @internal Used by the file adapter.
 * @throws {@link StateStoreError} `CORRUPT` (cause: what failed) or `UNSUPPORTED_VERSION`.
 */
export function decodeSnapshotFile(bytes: Buffer, expectedId: string, where: string): DecodedFile {
  if (bytes.length === 0) throw corrupt(where, 'the file is empty')
  if (bytes[0] === 0x7b /* { */) return decodeV1(bytes, expectedId, where)
  const newline = bytes.indexOf(0x0a)
  if (newline < 0 || newline > MAX_HEADER) throw corrupt(where, 'no valid header line')
  const header = HEADER.exec(bytes.toString('latin1', 0, newline))
  if (header === null) throw corrupt(where, 'the header line is malformed')
  const [, formatText = '', lengthText = '', digest = ''] = header
  const body = bytes.subarray(newline + 1)
  if (body.length !== Number(lengthText)) {
    throw corrupt(where, `the body is ${body.length} bytes, the header says ${lengthText} (truncated or extended)`)
  }
  const actual = createHash('sha256').update(`${MAGIC} ${formatText} ${lengthText}\n`).update(body).digest('hex')
  if (actual !== digest) throw corrupt(where, 'the SHA-256 checksum does not match')
  const format = Number(formatText)
  if (format > FILE_FORMAT_VERSION) {
    throw new StateStoreError(
      'UNSUPPORTED_VERSION',
      `${where} was written in state file format ${format}, this release reads up to ${FILE_FORMAT_VERSION}: ` +
        'upgrade @hotswap/state-store; the file was left untouched',
      { details: { path: where, format } },
    )
  }
  if (format !== FILE_FORMAT_VERSION) throw corrupt(where, `format ${format} never used this envelope`)
  return { snapshot: parseBody(body.toString('utf8'), expectedId, where, (value) => value), format }
}

function decodeV1(bytes: Buffer, expectedId: string, where: string): DecodedFile {
  const newline = bytes.indexOf(0x0a)
  if (newline < 0) throw corrupt(where, 'format-1 file without a body line')
  let head: unknown
  try {
    head = JSON.parse(bytes.toString('utf8', 0, newline))
  } catch (error) {
    throw corrupt(where, 'format-1 header is not JSON', error)
  }
  const { format, fnv1a32 } = (head ?? {}) as { format?: unknown; fnv1a32?: unknown }
  if (format !== 1 || typeof fnv1a32 !== 'string') throw corrupt(where, 'format-1 header is malformed')
  const body = bytes.subarray(newline + 1)
  if (fnv1a32Hex(body) !== fnv1a32) throw corrupt(where, 'the FNV-1a checksum does not match')
  const snapshot = parseBody(body.toString('utf8'), expectedId, where, (value) => {
    const old = (value ?? {}) as Record<string, unknown>
    return { pluginId: old.id, pluginVersion: old.version, schemaVersion: 1, timestamp: old.savedAt, data: old.state, metadata: {} }
  })
  return { snapshot, format: 1 }
}

function parseBody(text: string, expectedId: string, where: string, migrate: (value: unknown) => unknown): StateSnapshot {
  let snapshot: StateSnapshot
  try {
    snapshot = toSnapshot(migrate(JSON.parse(text)))
  } catch (error) {
    throw corrupt(where, 'the checksum matches but the content is not a valid snapshot', error)
  }
  if (snapshot.pluginId !== expectedId) {
    throw corrupt(where, `the file holds plugin "${snapshot.pluginId}", its name says "${expectedId}"`)
  }
  return snapshot
}

function fnv1a32Hex(bytes: Uint8Array): string {
  let hash = 0x811c9dc5
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return hash.toString(16).padStart(8, '0')
}

function corrupt(where: string, reason: string, cause?: unknown): StateStoreError {
  return new StateStoreError('CORRUPT', `${where} is corrupt: ${reason}`, { cause, details: { path: where, reason } })
}
