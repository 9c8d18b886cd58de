// Test support: start a bundled child and wait for its messages and exit, with time bounds.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

/** A message a test child sends. */
export interface ChildMessage {
  readonly type: string
  readonly [key: string]: unknown
}

/** Forks a bundled child script with an IPC channel. */
export function startChild(script: string, args: readonly string[]): ChildProcess {
  // execArgv: [] so the child does not inherit the test runner's flags and hooks.
  return fork(script, [...args], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json', execArgv: [] })
}

/** Resolves with the first message of `type` from `child`; rejects if it exits first or after `timeoutMs`. */
export function nextMessage(child: ChildProcess, type: string, timeoutMs = 10_000): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    let stderr = ''
    const onData = (chunk: Buffer): void => {
      stderr += chunk.toString()
    }
    const onMessage = (message: ChildMessage): void => {
      if (message.type !== type) return
      done()
      resolve(message)
    }
    const onExit = (code: number | null, signal: string | null): void => {
      done()
      reject(new Error(`child exited (${code ?? signal}) before sending "${type}": ${stderr}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no "${type}" message from the child within ${timeoutMs} ms: ${stderr}`))
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      child.stderr?.off('data', onData)
    }
    child.stderr?.on('data', onData)
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/** Resolves when `child` has exited (and been reaped); rejects after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
