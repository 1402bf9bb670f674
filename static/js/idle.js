// Children's Services Online: the idle countdown (partials/_idle.html; an
// ES module, loaded with <script type="module">, so it runs after the
// deferred htmx scripts).
//
// The server is the source of truth; the page only knows how many seconds
// were left when it was rendered (data-remaining). A session ends after
// data-timeout seconds without activity; the banner shows when
// data-countdown seconds are left. Screen readers hear the countdown only at
// fixed points, in a separate assertive live region; the visible text
// changes every second but is not live. Every text comes from the page, so
// this file holds no English or Welsh.
//
// Server contract:
//   GET  data-status-url (X-Portal-Passive: 1) → {"signed_in": bool, "remaining": seconds}
//   POST data-extend-url (X-CSRF-Token)        → {"remaining": seconds}
//   data-timeout-url: where the browser goes when the session has ended.
// Other scripts: window "portal:before-signout" event, 30 s before the end
// and before "Sign out", with detail.waitUntil(promise) to save drafts: the
// promise resolves true once saved. Meanwhile <html data-portal-signing-out>
// is set (app.js marks the saves passive and final, so a save that arrives
// late still counts: web.FinalSaveGrace); <html data-portal-drafts-saved>
// once every promise has settled. Past the end, while a save is still on
// its way, <html data-portal-covered> hides the page's content.
// When the session ends here (Sign out, the end of the countdown), window
// "portal:leaving" with detail.waitUntil(promise): other scripts remove
// what the session left on the device (offline.js's queue) before the
// page goes, waited for at most LEAVE_WAIT_MS.
//
// One state at a time, in this order (Stay signed in goes back to quiet):
//   quiet → checking → warning → saving → saved → ending → leaving
//
// No check for fetch or Promise: every browser that runs module scripts
// has both (a browser without modules skips this file altogether).

const ANNOUNCE_AT = [300, 240, 180, 120, 60, 30] // seconds left
const SAVE_AT = 30 // seconds left when drafts are saved
const SIGN_OUT_WAIT_MS = 10000 // the longest "Sign out" waits for drafts
const LEAVE_WAIT_MS = 2000 // the longest leaving waits for the device to be cleared
const HEARTBEAT_MS = 60000

let root, panel, heading, countdownEl, savedEl, liveEl, stayBtn
let texts = {}
let forms = { minutes: {}, seconds: {} }
let plural = null
let countdown = 300
let graceWait = 45 // seconds past the end a save on its way is waited for
let deadline = 0 // ms since epoch, this machine's clock
let state = 'quiet'
let extending = null // the pending extend promise
let announced = {}
let returnFocus = null
let lastHeartbeat = Date.now()
let timer = null
let channel = null
const html = document.documentElement

function bind () {
  root = document.getElementById('idle-banner')
  if (!root) return false
  panel = document.getElementById('idle-panel')
  heading = document.getElementById('idle-heading')
  countdownEl = document.getElementById('idle-countdown')
  savedEl = document.getElementById('idle-saved')
  liveEl = document.getElementById('idle-live')
  stayBtn = document.getElementById('idle-stay')
  countdown = num(root.getAttribute('data-countdown'), 300)
  // Wait for a late save a little less than the server takes it.
  graceWait = Math.max(0, num(root.getAttribute('data-final-save-grace'), 60) - 15)
  texts = {
    countdown: attr('data-text-countdown'),
    joiner: attr('data-text-joiner'),
    hint: attr('data-text-hint'),
    extended: attr('data-text-extended'),
    signedOut: attr('data-text-signed-out'),
    failed: attr('data-text-failed'),
    draftSaved: attr('data-text-draft-saved')
  }
  readForms()
  setRemaining(num(root.getAttribute('data-remaining'), countdown))
  if (stayBtn) stayBtn.addEventListener('click', () => { extend() })
  return true
}

function attr (name) { return root.getAttribute(name) || '' }

function num (value, fallback) {
  const n = parseInt(value, 10)
  return isNaN(n) ? fallback : n
}

function url (name) { return root.getAttribute(name) }

// The page renders the forms of "{n} minutes" and "{n} seconds" for
// n = 0…6, which between them cover every plural category of English
// and Welsh; Intl.PluralRules tells which number is in which category.
function readForms () {
  const lang = html.lang || 'en'
  try { plural = new Intl.PluralRules(lang) } catch (e) { plural = null }
  forms = { minutes: {}, seconds: {} }
  const items = root.querySelectorAll('[data-unit][data-n]')
  for (let i = 0; i < items.length; i++) {
    const unit = items[i].getAttribute('data-unit')
    const n = num(items[i].getAttribute('data-n'), 0)
    const category = pluralCategory(n)
    if (forms[unit] && !(category in forms[unit])) forms[unit][category] = items[i].textContent.trim()
    if (forms[unit] && !('n' + n in forms[unit])) forms[unit]['n' + n] = items[i].textContent.trim()
  }
}

function pluralCategory (n) {
  if (plural) return plural.select(n)
  return n === 1 ? 'one' : 'other'
}

function unitText (unit, n) {
  const f = forms[unit]
  const text = f[pluralCategory(n)] || f.other || f['n' + Math.min(n, 6)] || '{n}'
  return text.split('{n}').join(String(n))
}

function countdownText (left) {
  left = Math.max(0, left)
  const m = Math.floor(left / 60)
  const s = left % 60
  let time
  if (m > 0 && s > 0) {
    time = texts.joiner.split('{a}').join(unitText('minutes', m)).split('{b}').join(unitText('seconds', s))
  } else if (m > 0) {
    time = unitText('minutes', m)
  } else {
    time = unitText('seconds', s)
  }
  return texts.countdown.split('{time}').join(time)
}

function secondsLeft () { return Math.ceil((deadline - Date.now()) / 1000) }

function setRemaining (seconds) {
  deadline = Date.now() + Math.max(0, seconds) * 1000
}

function showing () { return state !== 'quiet' && state !== 'checking' }

// Another tab's activity moves this tab's deadline too.
function share () {
  if (channel) {
    try { channel.postMessage({ type: 'deadline', deadline: deadline }) } catch (e) {}
  }
}

function say (text) {
  if (!liveEl || !text) return
  // Empty first, so the same words are announced again.
  liveEl.textContent = ''
  window.setTimeout(() => { liveEl.textContent = text }, 100)
}

function csrf () {
  const meta = document.querySelector('meta[name="csrf-token"]')
  return meta ? meta.getAttribute('content') : ''
}

function status () {
  return fetch(url('data-status-url'), {
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json', 'X-Portal-Passive': '1' }
  }).then((r) => {
    if (r.status === 401 || r.status === 403) return { signed_in: false, remaining: 0 }
    if (!r.ok) throw new Error('status ' + r.status)
    return r.json()
  })
}

// Stay signed in, a heartbeat, or activity while the banner shows.
function extend () {
  if (extending) return extending
  extending = fetch(url('data-extend-url'), {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    headers: {
      Accept: 'application/json',
      'X-CSRF-Token': csrf(),
      'X-Requested-With': 'XMLHttpRequest'
    }
  }).then((r) => {
    if (!r.ok) throw new Error('extend ' + r.status)
    return r.json()
  }).then((data) => {
    lastHeartbeat = Date.now()
    const remaining = num(data && data.remaining, -1)
    if (remaining <= 0 || (data && data.signed_in === false)) return signOut()
    setRemaining(remaining)
    share()
    if (showing()) say(texts.extended)
    quiet()
  }).catch(() => {
    if (!showing()) return
    // Maybe the session ended elsewhere; ask before saying it failed.
    return status().then((s) => {
      if (!s.signed_in) return signOut()
      say(texts.failed)
    }, () => { say(texts.failed) })
  }).then(() => { extending = null }, () => { extending = null })
  return extending
}

function show (left) {
  state = 'warning'
  const active = document.activeElement
  returnFocus = active && active !== document.body && !root.contains(active) ? active : null
  render(left)
  panel.hidden = false
  measure()
  if (heading) heading.focus()
  // The first announcement says where the countdown is now; later ones
  // come at the fixed points only.
  for (let i = 0; i < ANNOUNCE_AT.length; i++) {
    if (ANNOUNCE_AT[i] >= left) announced[ANNOUNCE_AT[i]] = true
  }
  window.setTimeout(() => {
    if (showing()) say(countdownText(roundForSpeech(secondsLeft())) + ' ' + texts.hint)
  }, 600)
}

// Speak whole minutes, or half a minute, rather than "4 minutes and 57 seconds".
function roundForSpeech (left) {
  for (let i = 0; i < ANNOUNCE_AT.length; i++) {
    if (left >= ANNOUNCE_AT[i] - 5 && left <= ANNOUNCE_AT[i] + 5) return ANNOUNCE_AT[i]
  }
  return left
}

// While the banner shows, scroll-padding keeps the focused element below it.
function measure () {
  if (showing()) html.style.setProperty('--app-idle-height', panel.offsetHeight + 'px')
}

// Back to counting quietly: the session was extended, here or in another tab.
function quiet () {
  const wasShowing = showing()
  state = 'quiet'
  announced = {}
  html.removeAttribute('data-portal-signing-out')
  html.removeAttribute('data-portal-drafts-saved')
  html.removeAttribute('data-portal-covered')
  if (savedEl) savedEl.hidden = true
  if (!wasShowing) return
  const focusWasInside = root.contains(document.activeElement) || document.activeElement === document.body
  panel.hidden = true
  html.style.removeProperty('--app-idle-height')
  if (focusWasInside) {
    if (returnFocus && document.body.contains(returnFocus)) {
      returnFocus.focus()
    } else {
      const main = document.getElementById('main-content')
      if (main) {
        if (!main.hasAttribute('tabindex')) main.setAttribute('tabindex', '-1')
        main.focus()
      }
    }
  }
  returnFocus = null
}

function render (left) {
  if (countdownEl) countdownEl.textContent = countdownText(left)
}

function check () {
  state = 'checking'
  status().then((s) => {
    if (state !== 'checking') return
    if (!s.signed_in) return signOut()
    const remaining = num(s.remaining, 0)
    setRemaining(remaining)
    if (remaining > countdown) {
      state = 'quiet'
      share()
      return
    }
    show(Math.max(0, remaining))
  }, () => {
    if (state === 'checking') show(Math.max(0, secondsLeft()))
  })
}

// saveDrafts asks the page's scripts to save what is being written and
// resolves, with whether every save succeeded, when they have settled.
function saveDrafts () {
  html.setAttribute('data-portal-signing-out', '')
  const waits = []
  const detail = {
    waitUntil: (promise) => {
      waits.push(Promise.resolve(promise).then((ok) => ok !== false, () => false))
    }
  }
  try {
    window.dispatchEvent(new CustomEvent('portal:before-signout', { detail: detail }))
  } catch (e) {}
  return Promise.all(waits).then((results) => {
    return { any: results.length > 0, ok: results.indexOf(false) < 0 }
  })
}

function beforeSignout () {
  state = 'saving'
  saveDrafts().then((result) => {
    if (state !== 'saving') return // extended meanwhile
    saved()
    if (result.any && result.ok && savedEl) {
      savedEl.textContent = texts.draftSaved
      savedEl.hidden = false
      say(texts.draftSaved)
    }
  })
}

function saved () {
  state = 'saved'
  html.setAttribute('data-portal-drafts-saved', '')
}

function finalCheck () {
  state = 'ending'
  status().then((s) => {
    const remaining = num(s.remaining, 0)
    if (s.signed_in && remaining > 0) {
      // Another tab kept the session alive.
      setRemaining(remaining)
      if (remaining > countdown) quiet()
      else state = 'warning'
      return
    }
    signOut()
  }, () => {
    // Security: when in doubt, take the record off the screen.
    signOut()
  })
}

// stop ends the countdown for good: the session is ending here. It
// resolves once the other scripts have cleared the device (forget).
function stop () {
  state = 'leaving'
  window.clearInterval(timer)
  if (channel) {
    try { channel.postMessage({ type: 'signed-out' }) } catch (e) {}
  }
  return forget()
}

function forget () {
  const waits = []
  const detail = {
    waitUntil: (promise) => { waits.push(Promise.resolve(promise).catch(() => {})) }
  }
  try {
    window.dispatchEvent(new CustomEvent('portal:leaving', { detail: detail }))
  } catch (e) {}
  const limit = new Promise((resolve) => { window.setTimeout(resolve, LEAVE_WAIT_MS) })
  return Promise.race([Promise.all(waits), limit])
}

function signOut () {
  if (state === 'leaving') return
  // Security: the record leaves the screen at once, while the device is cleared.
  html.setAttribute('data-portal-covered', '')
  say(texts.signedOut)
  stop().then(() => { window.location.assign(url('data-timeout-url')) })
}

function tick () {
  if (state === 'leaving' || !root) return
  const left = secondsLeft()
  if (left > countdown) {
    if (state !== 'quiet' && state !== 'checking') quiet()
    return
  }
  if (state === 'quiet') check()
  if (!showing()) return
  render(left)
  for (let i = 0; i < ANNOUNCE_AT.length; i++) {
    const point = ANNOUNCE_AT[i]
    if (left <= point && !announced[point]) {
      // Mark every point already passed; speak only the latest one.
      for (let j = 0; j < ANNOUNCE_AT.length; j++) {
        if (ANNOUNCE_AT[j] >= left) announced[ANNOUNCE_AT[j]] = true
      }
      say(countdownText(point) + ' ' + texts.hint)
      break
    }
  }
  if (left > SAVE_AT && (state === 'saving' || state === 'saved')) {
    // Extended in another tab while saving.
    html.removeAttribute('data-portal-signing-out')
    html.removeAttribute('data-portal-drafts-saved')
    state = 'warning'
  }
  if (left <= SAVE_AT && state === 'warning') beforeSignout()
  if (left <= 0 && state === 'saving') {
    // Security: the end has come; while a save is still on its way, the
    // record leaves the screen, and the wait is bounded.
    html.setAttribute('data-portal-covered', '')
    if (left <= -graceWait) saved()
  }
  if (left <= 0 && state === 'saved') finalCheck()
}

// Activity: typing, editing or pressing, but not scrolling or moving the
// pointer. The banner's own buttons act for themselves; a key pressed on
// its heading (which has the focus) is activity like any other.
function onActivity (event) {
  if (state === 'leaving' || !root) return
  const target = event.target
  if (target && target.closest && panel && panel.contains(target) && target.closest('button, a, form')) return
  if (showing()) {
    extend()
  } else if (Date.now() - lastHeartbeat >= HEARTBEAT_MS) {
    lastHeartbeat = Date.now()
    extend()
  }
}

function onMessage (event) {
  const data = event.data || {}
  if (data.type === 'deadline' && typeof data.deadline === 'number' && data.deadline > deadline) {
    deadline = data.deadline
    tick()
  } else if (data.type === 'signed-out' && state !== 'leaving') {
    // Another tab signed out or timed out: ask the server, not the tab.
    window.setTimeout(() => {
      status().then((s) => {
        if (!s.signed_in) signOut()
        else setRemaining(num(s.remaining, 0))
      }, () => {})
    }, 1000)
  }
}

// The renderer adds a fresh #idle-banner to every HTMX answer. Read its
// remaining time and keep the element on the page as it is, so a banner
// on screen (and the focus in it) is not replaced.
document.addEventListener('htmx:oobBeforeSwap', (event) => {
  const detail = event.detail
  if (!detail || !detail.target || detail.target.id !== 'idle-banner' || !root) return
  const fresh = detail.fragment && detail.fragment.querySelector
    ? detail.fragment.querySelector('[data-remaining]')
    : null
  if (fresh && state !== 'leaving') {
    setRemaining(num(fresh.getAttribute('data-remaining'), secondsLeft()))
    share()
  }
  detail.shouldSwap = false
  tick()
})

// A swap that replaced the whole page (hx-boost, history) brings a new banner.
document.addEventListener('htmx:load', () => {
  const current = document.getElementById('idle-banner')
  if (current && current !== root) {
    state = 'quiet'
    bind()
    tick()
  }
})

// "Sign out" (the banner's or the menu's): drafts are saved first, for
// at most SIGN_OUT_WAIT_MS, then the form goes.
document.addEventListener('submit', (event) => {
  const form = event.target
  if (!form || !form.getAttribute || !/\/sign-out$/.test(form.getAttribute('action') || '')) return
  if (state === 'leaving') return
  event.preventDefault()
  const cleared = stop()
  const limit = new Promise((resolve) => { window.setTimeout(resolve, SIGN_OUT_WAIT_MS) })
  Promise.race([Promise.all([saveDrafts(), cleared]), limit]).then(() => { form.submit() })
}, true)

// start runs the countdown; only when the page has a banner (bind).
function start () {
  if ('BroadcastChannel' in window) {
    try {
      channel = new BroadcastChannel('portal-idle')
      channel.onmessage = onMessage
    } catch (e) { channel = null }
  }
  share() // this page load was activity: tell the other tabs

  document.addEventListener('keydown', onActivity, true)
  document.addEventListener('input', onActivity, true)
  document.addEventListener('pointerdown', onActivity, true)
  window.addEventListener('resize', measure)
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) tick()
  })

  timer = window.setInterval(tick, 1000)
  tick()
}

if (bind()) start()
