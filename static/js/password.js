// New password rules (views/auth/_new_password.html; an ES module, loaded
// with <script type="module">, so it runs after the deferred htmx scripts):
// as the person types, each rule the browser can check gets a tick or a
// cross, with hidden text saying the same, and a polite live region says
// how many rules are met when that number changes (not at every key).
//
// app/auth/password_policy.go is the authority: the server checks the
// password again whatever this page showed. This file mirrors its
// CheckPassword; the numbers and symbols come from the page (data-min,
// data-max, data-passphrase, data-kinds, data-symbols), rendered from the
// same constants. The common-password rule needs the server's list, so it
// stays stated text: the server marks it after a submit, and typing clears
// that mark (it was about the password submitted). Every text comes from
// the page (data-text-*), so this file holds no English or Welsh.

const ANNOUNCE_AFTER_MS = 600 // a pause in typing before the count is spoken

const list = document.getElementById('password-rules')
const input = document.getElementById('password')
const live = document.getElementById('password-live')
if (list && input && live && Array.from) start()

// start checks the rules as the person types; only when the page has them.
function start () {
  // unicode.IsLower, IsUpper and IsDigit are the categories Ll, Lu and Nd.
  let lower, upper, digit
  try {
    lower = new RegExp('^\\p{Ll}$', 'u')
    upper = new RegExp('^\\p{Lu}$', 'u')
    digit = new RegExp('^\\p{Nd}$', 'u')
  } catch (e) {
    return // no Unicode property escapes: the rules stay as the server left them
  }

  const shape = {
    min: num('data-min'),
    max: num('data-max'),
    passphrase: num('data-passphrase'),
    kinds: num('data-kinds'),
    symbols: list.getAttribute('data-symbols') || ''
  }
  const texts = {
    met: list.getAttribute('data-text-met') || '',
    notMet: list.getAttribute('data-text-not-met') || '',
    count: list.getAttribute('data-text-count') || ''
  }
  const total = list.querySelectorAll('[data-rule]').length
  let timer = null

  function num (name) { return parseInt(list.getAttribute(name), 10) }

  // check is CheckPassword without the common-password list: which rules
  // the password meets, by name.
  function check (password) {
    const chars = Array.from(password) // code points, as utf8.RuneCountInString counts
    const has = { lower: false, upper: false, digit: false, symbol: false }
    chars.forEach((c) => {
      if (lower.test(c)) has.lower = true
      else if (upper.test(c)) has.upper = true
      else if (digit.test(c)) has.digit = true
      else if (shape.symbols.indexOf(c) !== -1) has.symbol = true
    })
    let kinds = 0
    for (const k in has) if (has[k]) kinds++
    const n = chars.length
    return {
      length: n >= shape.min && n <= shape.max,
      kinds: kinds >= shape.kinds || n >= shape.passphrase
    }
  }

  function countMet (result) {
    let met = 0
    for (const name in result) if (result[name]) met++
    return met
  }

  // mark shows one rule as met (true), not met (false) or unchecked (null).
  function mark (name, met) {
    const item = list.querySelector('[data-rule="' + name + '"]')
    if (!item) return
    item.classList.toggle('app-password-rules__rule--met', met === true)
    item.classList.toggle('app-password-rules__rule--not-met', met === false)
    const markEl = item.querySelector('.app-password-rules__mark')
    const status = item.querySelector('.app-password-rules__status')
    if (markEl) markEl.textContent = met === null ? '' : met ? '\u2713' : '\u2717'
    if (status) status.textContent = met === null ? '' : ', ' + (met ? texts.met : texts.notMet)
  }

  let announced = countMet(check(input.value)) // what there is to say before any typing

  function update () {
    const result = check(input.value)
    for (const name in result) mark(name, result[name])
    mark('common', null)
    const met = countMet(result)
    window.clearTimeout(timer)
    timer = window.setTimeout(() => {
      if (met === announced) return
      announced = met
      live.textContent = texts.count.split('{met}').join(String(met)).split('{total}').join(String(total))
    }, ANNOUNCE_AFTER_MS)
  }

  input.addEventListener('input', update)
  if (input.value) update() // a value the browser put back
}
