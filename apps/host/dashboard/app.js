// hotswap-host dashboard: plain JS, no framework. Data comes from the control API with the
// bearer token; live updates come from the event stream (/api/events), opened with a
// one-time ticket because EventSource cannot send an Authorization header.
'use strict'

const TOKEN_KEY = 'hotswap-host-token'
const MAX_ROWS = 100
const PHASES = ['waited', 'prepare', 'drain', 'state', 'switch']

const $ = (id) => document.getElementById(id)
const state = { token: undefined, status: undefined, reloads: [], lastSeq: 0, source: undefined, refreshTimer: undefined, retryTimer: undefined }

// ---------------------------------------------------------------- token

function takeTokenFromFragment() {
  // The printed URL carries the token in the fragment (#token=...), which browsers never send
  // to a server. Keep it for this tab only and remove it from the address bar and history.
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash)
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]))
    history.replaceState(null, '', location.pathname + location.search)
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined
}

function showLogin(reason) {
  $('app').hidden = true
  $('login').hidden = false
  // Said in words, not only in an attribute: why the token is needed again.
  $('login-reason').textContent = reason ?? ''
  $('login-reason').hidden = !reason
  setLive(false, 'no token')
}

// ---------------------------------------------------------------- API

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` }
  const init = { method, headers, cache: 'no-store' }
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body ?? {})
  }
  const response = await fetch(path, init)
  let data
  try {
    data = await response.json()
  } catch {
    data = undefined
  }
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    showLogin('The host refused this token. It makes a new token on every start: open the URL it printed this time, or paste the contents of its api-token file.')
    throw new Error('unauthorized')
  }
  if (!response.ok) {
    const message = data?.error?.message ?? `${response.status} ${response.statusText}`
    const error = new Error(message)
    error.code = data?.error?.code
    throw error
  }
  return data
}

async function loadAll() {
  const [status, reloads] = await Promise.all([api('GET', '/api/status'), api('GET', '/api/reloads')])
  state.status = status
  state.reloads = reloads.reloads.slice(-MAX_ROWS)
  for (const r of state.reloads) state.lastSeq = Math.max(state.lastSeq, r.seq)
  render()
}

function refreshStatusSoon() {
  clearTimeout(state.refreshTimer)
  state.refreshTimer = setTimeout(async () => {
    try {
      state.status = await api('GET', '/api/status')
      renderStatus()
    } catch (error) {
      say(`status: ${error.message}`, true)
    }
  }, 60)
}

// ---------------------------------------------------------------- event stream

async function connect() {
  clearTimeout(state.retryTimer)
  state.source?.close()
  try {
    const { ticket } = await api('POST', '/api/events/ticket')
    const source = new EventSource(`/api/events?ticket=${encodeURIComponent(ticket)}&since=${state.lastSeq}`)
    state.source = source
    source.onopen = () => setLive(true)
    source.onerror = () => {
      // A ticket works once: every reconnect asks for a new one.
      source.close()
      setLive(false, 'reconnecting…')
      state.retryTimer = setTimeout(connect, 1500)
    }
    source.addEventListener('reload', (message) => {
      void showState()
      const reload = JSON.parse(message.data)
      if (reload.seq <= state.lastSeq) return
      state.lastSeq = reload.seq
      state.reloads.push(reload)
      if (state.reloads.length > MAX_ROWS) state.reloads.shift()
      renderTimeline()
      renderFailures()
      refreshStatusSoon()
    })
    for (const name of ['pending', 'policy', 'registry.rolledBack', 'registry.unloaded', 'registry.failed', 'ready', 'skipped']) {
      source.addEventListener(name, (message) => {
        const event = JSON.parse(message.data)
        state.lastSeq = Math.max(state.lastSeq, event.seq)
        if (name === 'registry.rolledBack') {
          say(`rolled back ${event.event.id}: ${event.event.from} → ${event.event.to}`)
          state.reloads.push(event)
          if (state.reloads.length > MAX_ROWS) state.reloads.shift()
          renderTimeline()
          void showState()
        }
        refreshStatusSoon()
      })
    }
    // The host's state-store fallbacks (a refused, corrupt or unreadable snapshot), in words.
    for (const name of ['stateRefused', 'stateNotSaved', 'stateCorrupt', 'stateUnreadable']) {
      source.addEventListener(name, (message) => {
        const event = JSON.parse(message.data)
        state.lastSeq = Math.max(state.lastSeq, event.seq)
        say(event.message, true)
      })
    }
    source.addEventListener('closed', () => setLive(false, 'host stopped'))
  } catch (error) {
    if (error.message !== 'unauthorized') {
      setLive(false, 'host unreachable, retrying…')
      state.retryTimer = setTimeout(connect, 3000)
    }
  }
}

function setLive(on, text) {
  const live = $('live')
  live.className = `live ${on ? 'on' : 'off'}`
  live.textContent = on ? 'live' : text ?? 'offline'
}

// ---------------------------------------------------------------- rendering

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue
    if (key === 'class') node.className = value
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else if (key === 'style') node.style.cssText = value // through the CSSOM: allowed by the page's CSP
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value)
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child))
  return node
}

const ms = (n) => (n === undefined || n === null ? '–' : n < 10 ? `${Number(n).toFixed(1)} ms` : `${Math.round(n)} ms`)
const clock = (at) => (at ? new Date(at).toLocaleTimeString([], { hour12: false }) : '–')
const base = (path) => String(path).split(/[\\/]/).pop()

function render() {
  $('login').hidden = true
  $('app').hidden = false
  renderStatus()
  renderTimeline()
}

function renderStatus() {
  const s = state.status
  if (!s) return
  const policy = s.policy.kind === 'Scheduled' ? `Scheduled (${s.policy.intervalMs} ms)` : s.policy.kind
  $('summary').replaceChildren(
    el('span', { class: `pill ${s.enabled ? 'ok' : 'warn'}`, 'data-testid': 'enabled' }, s.enabled ? 'enabled' : 'disabled'),
    el('span', {}, 'policy ', el('b', {}, policy)),
    el('span', {}, 'reloads ', el('b', { 'data-testid': 'reload-count' }, s.reloads)),
    el('span', {}, 'failed ', el('b', {}, s.failedReloads)),
    el('span', {}, 'p50 ', el('b', {}, ms(s.durations.p50Ms))),
    el('span', { class: 'dirs', title: s.dirs.join('\n') }, s.dirs.map(base).join(', ')),
  )
  $('enable').disabled = s.enabled
  $('disable').disabled = !s.enabled
  const body = $('plugins').querySelector('tbody')
  body.replaceChildren(
    ...s.plugins.map((p) => {
      const id = p.id ?? p.label
      return el(
        'tr',
        { 'data-testid': 'plugin-row', dataset: { plugin: id } },
        el('td', {}, el('b', {}, id), el('div', { class: 'muted' }, p.label)),
        el(
          'td',
          {},
          p.version ?? '–',
          p.servingDiffersFromDisk ? el('span', { class: 'pill warn drift', 'data-testid': 'drift', title: p.servingDiffersFromDisk, dataset: { plugin: id } }, '≠ disk') : null,
          p.servingDiffersFromDisk ? el('div', { class: 'muted' }, p.servingDiffersFromDisk) : null,
          p.previousVersion ? el('div', { class: 'muted' }, `prev ${p.previousVersion}`) : null,
        ),
        el('td', {}, el('span', { class: `state ${stateClass(p.state)}` }, p.state), p.breaker !== 'closed' ? el('div', { class: 'muted' }, `breaker ${p.breaker}`) : null),
        el('td', {}, p.loader ?? '–'),
        el('td', {}, p.reloadCount),
        el('td', {}, p.failedReloads),
        el('td', {}, clock(p.metrics.lastReloadAt)),
        el('td', {}, p.pending.length > 0 ? el('span', { class: 'pill warn' }, p.pending.length) : '–'),
        el(
          'td',
          { class: 'actions' },
          el('button', { type: 'button', disabled: p.id ? null : 'disabled', 'data-testid': 'reload-btn', dataset: { plugin: id }, onclick: () => act('reload', p.id) }, 'Reload'),
          el('button', { type: 'button', disabled: p.previousVersion ? null : 'disabled', 'data-testid': 'rollback-btn', dataset: { plugin: id }, onclick: () => act('rollback', p.id) }, 'Rollback'),
        ),
      )
    }),
  )
  renderFailures()
  renderPluginChoices(s.plugins)
  const pending = s.plugins.filter((p) => p.pending.length > 0)
  $('pending').replaceChildren(
    ...(pending.length === 0
      ? [el('li', { class: 'muted' }, 'nothing pending')]
      : pending.map((p) =>
          el('li', {}, el('b', {}, p.id ?? p.label), ' ', p.pending.map((c) => `${c.kind} ${base(c.path)}`).join(', '), ' ', el('button', { type: 'button', onclick: () => act('reload', p.id) }, 'Apply')),
        )),
  )
}

function stateClass(s) {
  if (s === 'Running' || s === 'Loaded') return 'ok'
  if (String(s).startsWith('Failed')) return 'bad'
  return 'warn'
}

function renderTimeline() {
  const rows = [...state.reloads].reverse()
  const max = Math.max(1, ...rows.filter((r) => r.timings).map((r) => r.timings.totalMs + r.timings.waitedMs))
  $('timeline').replaceChildren(
    ...(rows.length === 0
      ? [el('li', { class: 'muted' }, 'no reloads yet: edit a plugin file')]
      : rows.map((r) => {
          if (r.type === 'registry') {
            const e = r.event
            return el(
              'li',
              { class: 'row rollback', 'data-testid': 'reload-row', dataset: { plugin: e.id, seq: r.seq, outcome: 'rollback' } },
              el('div', { class: 'label' }, el('span', { class: 'time' }, clock(e.at)), ' ', el('b', {}, e.id), ' ', el('span', { class: 'muted' }, `rollback ${e.from ?? '?'} → ${e.to}`)),
              el('div', { class: 'bar rollback', style: 'width:2%' }),
              el('div', { class: 'meta' }, el('span', { class: 'warn' }, '↶ rolled back')),
            )
          }
          const t = r.timings
          const parts = { waited: t.waitedMs, prepare: t.prepareMs, drain: t.drainMs, state: t.stateMs, switch: t.switchMs }
          const other = Math.max(0, t.totalMs - t.prepareMs - t.drainMs - t.stateMs - t.switchMs)
          const whole = t.waitedMs + t.totalMs
          const width = Math.max(2, (whole / max) * 100)
          const segments = [...PHASES.map((name) => [name, parts[name]]), ['other', other]]
            .filter(([, v]) => v > 0)
            .map(([name, v]) => el('span', { class: `seg ${name}`, style: `width:${(v / Math.max(whole, 0.001)) * 100}%`, title: `${name} ${ms(v)}` }))
          // A failed reload never reached a new version: say so instead of repeating the old one.
          const versions = r.action === 'reload' ? (r.outcome === 'failed' ? `${r.from ?? '?'} → ${r.attempted ?? 'new version'} refused (${r.from ?? '?'} keeps serving)` : `${r.from ?? '?'} → ${r.to ?? '?'}`) : r.outcome === 'failed' ? `${r.attempted ?? ''} not loaded`.trim() : (r.to ?? r.from ?? '')
          const what = r.changes.length > 0 ? [...new Set(r.changes.map((c) => `${c.kind} ${base(c.path)}`))].slice(0, 3).join(', ') : r.cause
          return el(
            'li',
            { class: `row ${r.outcome}`, 'data-testid': 'reload-row', dataset: { plugin: r.id ?? base(r.path), seq: r.seq, outcome: r.outcome, cause: r.cause } },
            el('div', { class: 'label' }, el('span', { class: 'time' }, clock(r.at)), ' ', el('b', {}, r.id ?? base(r.path)), ' ', el('span', { class: 'muted' }, `${r.action} ${versions}`)),
            el('div', { class: 'bar', style: `width:${width}%` }, segments),
            el('div', { class: 'meta' }, r.outcome === 'failed' ? el('span', { class: 'bad' }, `failed${r.failedPhase ? ` in ${r.failedPhase}` : ''}`) : ms(t.totalMs), ' ', el('span', { class: 'muted' }, what)),
          )
        })),
  )
}

function renderFailures() {
  const failed = [...state.reloads].reverse().filter((r) => r.outcome === 'failed').slice(0, 20)
  // A failure shown as "now" only while the plugin still has it: it clears when fixed.
  const current = (state.status?.plugins ?? []).filter((p) => p.lastError)
  const items = [
    ...current.map((p) => el('li', { class: 'current' }, el('b', {}, p.id ?? p.label), ' ', el('span', { class: 'pill bad' }, 'now'), ' ', el('code', {}, `${p.lastError.code ?? p.lastError.name}: ${p.lastError.message}`))),
    ...failed.map((r) =>
      el('li', {}, el('span', { class: 'time' }, clock(r.at)), ' ', el('b', {}, r.id ?? base(r.path)), ` ${r.action} failed${r.failedPhase ? ` in ${r.failedPhase}` : ''} after ${r.attempts} attempt(s) `, el('code', {}, r.error ? `${r.error.code ?? r.error.name}: ${r.error.message}` : 'unknown error')),
    ),
  ]
  $('failures').replaceChildren(...(items.length === 0 ? [el('li', { class: 'muted' }, 'no failures')] : items))
}

function say(text, bad = false) {
  const message = $('message')
  message.textContent = text
  message.className = `message ${bad ? 'bad' : ''}`
}

// ---------------------------------------------------------------- actions

async function act(action, id) {
  try {
    if (action === 'reload' || action === 'rollback') {
      const result = await api('POST', `/api/plugins/${encodeURIComponent(id)}/${action}`)
      say(action === 'reload' ? `reloaded ${id}${result.reload ? ` in ${ms(result.reload.timings.totalMs)}` : ''}` : `rolled back ${id} to ${result.plugin.version}`)
    } else {
      await api('POST', `/api/hot-reload/${action}`)
      say(`hot reload ${action}d`)
    }
    refreshStatusSoon()
  } catch (error) {
    if (error.message !== 'unauthorized') say(`${action} ${id ?? ''}: ${error.message}`, true)
  }
}

// ---------------------------------------------------------------- state and calls

function renderPluginChoices(plugins) {
  const ids = plugins.map((p) => p.id).filter(Boolean)
  for (const select of [$('state-plugin'), $('call-plugin')]) {
    const chosen = select.value
    const same = select.options.length === ids.length && ids.every((id, i) => select.options[i].value === id)
    if (!same) select.replaceChildren(...ids.map((id) => el('option', { value: id }, id)))
    if (ids.includes(chosen)) select.value = chosen
  }
  if ($('state-view').dataset.plugin !== $('state-plugin').value) void showState()
}

async function showState() {
  const id = $('state-plugin').value
  if (!id) return
  try {
    const data = await api('GET', `/api/plugins/${encodeURIComponent(id)}`)
    const current = data.stateHistory[0]
    $('state-view').dataset.plugin = id
    $('state-view').textContent = current === undefined ? '(no snapshot yet: saved on the next reload or stop)' : JSON.stringify(current.data, null, 2)
    $('state-meta').textContent = current === undefined ? '' : `${id}@${current.pluginVersion}, saved ${clock(current.timestamp)}; ${data.stateHistory.length} snapshot(s) kept`
  } catch (error) {
    if (error.message !== 'unauthorized') $('state-view').textContent = `cannot read the state of ${id}: ${error.message}`
  }
}

async function callMethod() {
  const id = $('call-plugin').value
  const method = $('call-method').value.trim()
  const out = $('call-result')
  let args
  try {
    args = JSON.parse($('call-args').value.trim() || '[]')
    if (!Array.isArray(args)) throw new Error('the arguments must be a JSON array, e.g. [1, "two"]')
  } catch (error) {
    out.className = 'json bad'
    out.textContent = `bad arguments: ${error.message}`
    return
  }
  out.className = 'json'
  out.textContent = '…'
  const response = await fetch(`/api/plugins/${encodeURIComponent(id)}/call`, {
    method: 'POST',
    cache: 'no-store',
    headers: { Authorization: `Bearer ${state.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ method, args }),
  })
  if (response.status === 401) {
    showLogin('The host refused this token. It makes a new token on every start: open the URL it printed this time, or paste the contents of its api-token file.')
    return
  }
  if ((response.headers.get('content-type') ?? '').startsWith('application/x-ndjson')) {
    // A stream: show each value as it arrives.
    out.textContent = ''
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffered += value
      let newline
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (line.startsWith('{"error":')) out.className = 'json bad'
        out.textContent += `${line}\n`
      }
    }
    out.dataset.done = 'stream'
    return
  }
  const data = await response.json().catch(() => ({}))
  out.className = response.ok ? 'json' : 'json bad'
  out.textContent = response.ok ? JSON.stringify(data.result, null, 2) : `${data.error?.code ?? response.status}: ${data.error?.message ?? response.statusText}`
  out.dataset.done = response.ok ? 'value' : 'error'
  void showState()
}

// ---------------------------------------------------------------- start

async function start() {
  state.token = takeTokenFromFragment()
  $('enable').addEventListener('click', () => act('enable'))
  $('disable').addEventListener('click', () => act('disable'))
  $('state-plugin').addEventListener('change', () => void showState())
  $('call-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void callMethod()
  })
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const token = $('token-input').value.trim()
    if (!token) return
    sessionStorage.setItem(TOKEN_KEY, token)
    state.token = token
    $('token-input').value = ''
    void boot()
  })
  if (!state.token) return showLogin()
  await boot()
}

async function boot() {
  try {
    await loadAll()
    await connect()
  } catch (error) {
    if (error.message !== 'unauthorized') say(`cannot reach the host: ${error.message}`, true)
  }
}

void start()
