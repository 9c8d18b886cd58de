import { MessagePort } from 'node:worker_threads'
import { parseContractMessage } from './worker-contract.js'
import type { ContractMessage } from './worker-contract.js'
import type { SerializedError } from './remote-error.js'
import type { WireResponse } from './web-bodies.js'
import { parseWireResponse } from './worker-web.js'

/** A reply of the worker bootstrap to one request. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown; readonly stream?: MessagePort | undefined; readonly response?: WireResponse | undefined }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError }

/** A `ctx.log` line of a plugin. */
export interface WorkerLog {
  readonly log: 'debug' | 'info' | 'warn' | 'error'
  readonly message: string
}

/** A piece of the plugin's stdout or stderr (within the worker-side budget). */
export interface WorkerOutput {
  readonly out: 'stdout' | 'stderr'
  readonly text: string
}

/** How many lines the worker dropped over its budget since the last such message. */
export interface WorkerDropped {
  readonly dropped: number
}

/** Anything the bootstrap sends on its private port. */
export type WorkerMessage = WorkerReply | WorkerLog | WorkerOutput | WorkerDropped | ContractMessage

const LEVELS = new Set(['debug', 'info', 'warn', 'error'])

/**
 * Checks a message that arrived on a worker's private port: returns it typed, or a sentence
 * saying what is wrong with it. Nothing from a worker is trusted before this check (plugin
 * code shares the worker with the bootstrap).
 *
 * @internal
 */
export function parseWorkerMessage(message: unknown): WorkerMessage | string {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return `expected an object, got ${describe(message)}`
  const m = message as Record<string, unknown>
  if ('out' in m) {
    if (m.out !== 'stdout' && m.out !== 'stderr') return `output stream ${describe(m.out)} is not stdout or stderr`
    if (typeof m.text !== 'string') return `output text is ${describe(m.text)}, not a string`
    return { out: m.out, text: m.text }
  }
  if ('dropped' in m) {
    if (typeof m.dropped !== 'number' || !Number.isSafeInteger(m.dropped) || m.dropped < 0) return `dropped count ${describe(m.dropped)} is not a count`
    return { dropped: m.dropped }
  }
  if ('log' in m) {
    if (typeof m.log !== 'string' || !LEVELS.has(m.log)) return `log level ${describe(m.log)} is not debug, info, warn or error`
    if (typeof m.message !== 'string') return `log message is ${describe(m.message)}, not a string`
    return { log: m.log as WorkerLog['log'], message: m.message }
  }
  if ('c' in m) return parseContractMessage(m)
  if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id) || m.id <= 0) return `reply id ${describe(m.id)} is not a positive integer`
  if (m.ok === true) {
    if (m.response !== undefined) {
      const response = parseWireResponse(m.response)
      if (typeof response === 'string') return `${response} in reply ${m.id}`
      return { id: m.id, ok: true, value: undefined, response }
    }
    if (m.stream === undefined) return { id: m.id, ok: true, value: m.value }
    if (!(m.stream instanceof MessagePort)) return `stream of reply ${m.id} is not a MessagePort`
    return { id: m.id, ok: true, value: undefined, stream: m.stream }
  }
  if (m.ok !== false) return `reply "ok" is ${describe(m.ok)}, not a boolean`
  const e = m.error as Record<string, unknown> | null | undefined
  if (e === null || typeof e !== 'object') return `error of reply ${m.id} is ${describe(e)}, not an object`
  if (typeof e.name !== 'string' || typeof e.message !== 'string') return `error of reply ${m.id} has no string name and message`
  if (e.stack !== undefined && typeof e.stack !== 'string') return `error stack of reply ${m.id} is not a string`
  if (e.tag !== undefined && typeof e.tag !== 'string') return `error tag of reply ${m.id} is not a string`
  return {
    id: m.id,
    ok: false,
    error: { name: e.name, message: e.message, stack: e.stack, code: e.code, tag: e.tag },
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
  if (Array.isArray(value)) return 'an array'
  return typeof value
}
