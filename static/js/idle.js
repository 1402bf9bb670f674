// Children's Services Online: the idle countdown (partials/_idle.html).
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
// Other scripts: window "portal:before-signout" event, 10 s before the end,
// with detail.waitUntil(promise) to save drafts (their requests must carry
// X-Portal-Passive: 1; <html data-portal-signing-out> is set meanwhile).
(function () {
  'use strict'

  if (!window.fetch || !window.Promise) return

  var ANNOUNCE_AT = [300, 240, 180, 120, 60, 30] // seconds left
  var BEFORE_SIGNOUT_AT = 10 // seconds left
  var SAVE_WAIT_MS = 5000
  var HEARTBEAT_MS = 60000

  var root, panel, heading, countdownEl, liveEl, stayBtn
  var texts = {}
  var forms = { minutes: {}, seconds: {} }
  var plural = null
  var countdown = 300
  var deadline = 0 // ms since epoch, this machine's clock
  var showing = false
  var checking = false
  var extending = null // the pending extend promise
  var announced = {}
  var returnFocus = null
  var lastHeartbeat = Date.now()
  var signingOut = false // before-signout fired
  var saved = false // before-signout waiting is over
  var finalChecking = false
  var leaving = false
  var timer = null
  var channel = null

  function bind () {
    root = document.getElementById('idle-banner')
    if (!root) return false
    panel = document.getElementById('idle-panel')
    heading = document.getElementById('idle-heading')
    countdownEl = document.getElementById('idle-countdown')
    liveEl = document.getElementById('idle-live')
    stayBtn = document.getElementById('idle-stay')
    countdown = num(root.getAttribute('data-countdown'), 300)
    texts = {
      countdown: attr('data-text-countdown'),
      joiner: attr('data-text-joiner'),
      hint: attr('data-text-hint'),
      extended: attr('data-text-extended'),
      signedOut: attr('data-text-signed-out'),
      failed: attr('data-text-failed')
    }
    readForms()
    setRemaining(num(root.getAttribute('data-remaining'), countdown))
    if (stayBtn) stayBtn.addEventListener('click', function () { extend() })
    return true
  }

  function attr (name) { return root.getAttribute(name) || '' }

  function num (value, fallback) {
    var n = parseInt(value, 10)
    return isNaN(n) ? fallback : n
  }

  function url (name) { return root.getAttribute(name) }

  // The page renders the forms of "{n} minutes" and "{n} seconds" for
  // n = 0…6, which between them cover every plural category of English
  // and Welsh; Intl.PluralRules tells which number is in which category.
  function readForms () {
    var lang = document.documentElement.lang || 'en'
    try { plural = new Intl.PluralRules(lang) } catch (e) { plural = null }
    forms = { minutes: {}, seconds: {} }
    var items = root.querySelectorAll('[data-unit][data-n]')
    for (var i = 0; i < items.length; i++) {
      var unit = items[i].getAttribute('data-unit')
      var n = num(items[i].getAttribute('data-n'), 0)
      var category = pluralCategory(n)
      if (forms[unit] && !(category in forms[unit])) forms[unit][category] = items[i].textContent.trim()
      if (forms[unit] && !('n' + n in forms[unit])) forms[unit]['n' + n] = items[i].textContent.trim()
    }
  }

  function pluralCategory (n) {
    if (plural) return plural.select(n)
    return n === 1 ? 'one' : 'other'
  }

  function unitText (unit, n) {
    var f = forms[unit]
    var text = f[pluralCategory(n)] || f.other || f['n' + Math.min(n, 6)] || '{n}'
    return text.split('{n}').join(String(n))
  }

  function countdownText (left) {
    left = Math.max(0, left)
    var m = Math.floor(left / 60)
    var s = left % 60
    var time
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
    window.setTimeout(function () { liveEl.textContent = text }, 100)
  }

  function csrf () {
    var meta = document.querySelector('meta[name="csrf-token"]')
    return meta ? meta.getAttribute('content') : ''
  }

  function status () {
    return fetch(url('data-status-url'), {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json', 'X-Portal-Passive': '1' }
    }).then(function (r) {
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
    }).then(function (r) {
      if (!r.ok) throw new Error('extend ' + r.status)
      return r.json()
    }).then(function (data) {
      lastHeartbeat = Date.now()
      var remaining = num(data && data.remaining, -1)
      if (remaining <= 0 || (data && data.signed_in === false)) return signOut()
      setRemaining(remaining)
      share()
      resetSignout()
      if (showing) {
        hide()
        say(texts.extended)
      }
    }).catch(function () {
      if (!showing) return
      // Maybe the session ended elsewhere; ask before saying it failed.
      return status().then(function (s) {
        if (!s.signed_in) return signOut()
        say(texts.failed)
      }, function () { say(texts.failed) })
    }).then(function () { extending = null }, function () { extending = null })
    return extending
  }

  function show (left) {
    showing = true
    var active = document.activeElement
    returnFocus = active && active !== document.body && !root.contains(active) ? active : null
    render(left)
    panel.hidden = false
    measure()
    if (heading) heading.focus()
    // The first announcement says where the countdown is now; later ones
    // come at the fixed points only.
    for (var i = 0; i < ANNOUNCE_AT.length; i++) {
      if (ANNOUNCE_AT[i] >= left) announced[ANNOUNCE_AT[i]] = true
    }
    window.setTimeout(function () {
      if (showing) say(countdownText(roundForSpeech(secondsLeft())) + ' ' + texts.hint)
    }, 600)
  }

  // Speak whole minutes, or half a minute, rather than "4 minutes and 57 seconds".
  function roundForSpeech (left) {
    for (var i = 0; i < ANNOUNCE_AT.length; i++) {
      if (left >= ANNOUNCE_AT[i] - 5 && left <= ANNOUNCE_AT[i] + 5) return ANNOUNCE_AT[i]
    }
    return left
  }

  // While the banner shows, scroll-padding keeps the focused element below it.
  function measure () {
    if (showing) document.documentElement.style.setProperty('--app-idle-height', panel.offsetHeight + 'px')
  }

  function hide () {
    if (!showing) return
    showing = false
    announced = {}
    var focusWasInside = root.contains(document.activeElement) || document.activeElement === document.body
    panel.hidden = true
    document.documentElement.style.removeProperty('--app-idle-height')
    if (focusWasInside) {
      if (returnFocus && document.body.contains(returnFocus)) {
        returnFocus.focus()
      } else {
        var main = document.getElementById('main-content')
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
    checking = true
    status().then(function (s) {
      checking = false
      if (!s.signed_in) return signOut()
      var remaining = num(s.remaining, 0)
      setRemaining(remaining)
      if (remaining > countdown) {
        share()
        return
      }
      show(Math.max(0, remaining))
    }, function () {
      checking = false
      show(Math.max(0, secondsLeft()))
    })
  }

  function beforeSignout () {
    signingOut = true
    saved = false
    document.documentElement.setAttribute('data-portal-signing-out', '')
    var waits = []
    var detail = {
      waitUntil: function (promise) { waits.push(Promise.resolve(promise).catch(function () {})) }
    }
    try {
      window.dispatchEvent(new CustomEvent('portal:before-signout', { detail: detail }))
    } catch (e) {}
    var limit = new Promise(function (resolve) { window.setTimeout(resolve, SAVE_WAIT_MS) })
    Promise.race([Promise.all(waits), limit]).then(function () { saved = true })
  }

  function resetSignout () {
    signingOut = false
    saved = false
    document.documentElement.removeAttribute('data-portal-signing-out')
  }

  function finalCheck () {
    finalChecking = true
    status().then(function (s) {
      finalChecking = false
      var remaining = num(s.remaining, 0)
      if (s.signed_in && remaining > 0) {
        // Another tab kept the session alive.
        setRemaining(remaining)
        resetSignout()
        if (remaining > countdown) hide()
        return
      }
      signOut()
    }, function () {
      finalChecking = false
      // Security: when in doubt, take the record off the screen.
      signOut()
    })
  }

  function signOut () {
    if (leaving) return
    leaving = true
    window.clearInterval(timer)
    say(texts.signedOut)
    if (channel) {
      try { channel.postMessage({ type: 'signed-out' }) } catch (e) {}
    }
    window.location.assign(url('data-timeout-url'))
  }

  function tick () {
    if (leaving || !root) return
    var left = secondsLeft()
    if (left > countdown) {
      if (showing) hide()
      if (signingOut) resetSignout()
      return
    }
    if (!showing) {
      if (!checking) check()
      return
    }
    render(left)
    for (var i = 0; i < ANNOUNCE_AT.length; i++) {
      var point = ANNOUNCE_AT[i]
      if (left <= point && !announced[point]) {
        // Mark every point already passed; speak only the latest one.
        for (var j = 0; j < ANNOUNCE_AT.length; j++) {
          if (ANNOUNCE_AT[j] >= left) announced[ANNOUNCE_AT[j]] = true
        }
        say(countdownText(point) + ' ' + texts.hint)
        break
      }
    }
    if (left > BEFORE_SIGNOUT_AT && signingOut) resetSignout()
    if (left <= BEFORE_SIGNOUT_AT && !signingOut) beforeSignout()
    if (left <= 0 && signingOut && saved && !finalChecking) finalCheck()
  }

  // Activity: typing, editing or pressing, but not scrolling or moving the
  // pointer. The banner's own buttons act for themselves; a key pressed on
  // its heading (which has the focus) is activity like any other.
  function onActivity (event) {
    if (leaving || !root) return
    var target = event.target
    if (target && target.closest && panel && panel.contains(target) && target.closest('button, a, form')) return
    if (showing) {
      extend()
    } else if (Date.now() - lastHeartbeat >= HEARTBEAT_MS) {
      lastHeartbeat = Date.now()
      extend()
    }
  }

  function onMessage (event) {
    var data = event.data || {}
    if (data.type === 'deadline' && typeof data.deadline === 'number' && data.deadline > deadline) {
      deadline = data.deadline
      tick()
    } else if (data.type === 'signed-out' && !leaving) {
      // Another tab signed out or timed out: ask the server, not the tab.
      window.setTimeout(function () {
        status().then(function (s) {
          if (!s.signed_in) signOut()
          else setRemaining(num(s.remaining, 0))
        }, function () {})
      }, 1000)
    }
  }

  // The renderer adds a fresh #idle-banner to every HTMX answer. Read its
  // remaining time and keep the element on the page as it is, so a banner
  // on screen (and the focus in it) is not replaced.
  document.addEventListener('htmx:oobBeforeSwap', function (event) {
    var detail = event.detail
    if (!detail || !detail.target || detail.target.id !== 'idle-banner' || !root) return
    var fresh = detail.fragment && detail.fragment.querySelector
      ? detail.fragment.querySelector('[data-remaining]')
      : null
    if (fresh) {
      setRemaining(num(fresh.getAttribute('data-remaining'), secondsLeft()))
      share()
    }
    detail.shouldSwap = false
    tick()
  })

  // A swap that replaced the whole page (hx-boost, history) brings a new banner.
  document.addEventListener('htmx:load', function () {
    var current = document.getElementById('idle-banner')
    if (current && current !== root) {
      showing = false
      bind()
      tick()
    }
  })

  document.addEventListener('submit', function (event) {
    var form = event.target
    if (form && form.getAttribute && /\/sign-out$/.test(form.getAttribute('action') || '')) {
      leaving = true
      window.clearInterval(timer)
      if (channel) {
        try { channel.postMessage({ type: 'signed-out' }) } catch (e) {}
      }
    }
  }, true)

  if (!bind()) return

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
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) tick()
  })

  timer = window.setInterval(tick, 1000)
  tick()
})()
