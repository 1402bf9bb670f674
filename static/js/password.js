// New password rules (views/auth/_new_password.html): as the person types,
// each rule the browser can check gets a tick or a cross, with hidden text
// saying the same, and a polite live region says how many rules are met
// when that number changes (not at every key).
//
// app/auth/password_policy.go is the authority: the server checks the
// password again whatever this page showed. This file mirrors its
// CheckPassword; the numbers and symbols come from the page (data-min,
// data-max, data-passphrase, data-kinds, data-symbols), rendered from the
// same constants. The common-password rule needs the server's list, so it
// stays stated text: the server marks it after a submit, and typing clears
// that mark (it was about the password submitted). Every text comes from
// the page (data-text-*), so this file holds no English or Welsh.
(function () {
  'use strict'

  var ANNOUNCE_AFTER_MS = 600 // a pause in typing before the count is spoken

  var list = document.getElementById('password-rules')
  var input = document.getElementById('password')
  var live = document.getElementById('password-live')
  if (!list || !input || !live || !Array.from) return

  // unicode.IsLower, IsUpper and IsDigit are the categories Ll, Lu and Nd.
  var lower, upper, digit
  try {
    lower = new RegExp('^\\p{Ll}$', 'u')
    upper = new RegExp('^\\p{Lu}$', 'u')
    digit = new RegExp('^\\p{Nd}$', 'u')
  } catch (e) {
    return // no Unicode property escapes: the rules stay as the server left them
  }

  var shape = {
    min: num('data-min'),
    max: num('data-max'),
    passphrase: num('data-passphrase'),
    kinds: num('data-kinds'),
    symbols: list.getAttribute('data-symbols') || ''
  }
  var texts = {
    met: list.getAttribute('data-text-met') || '',
    notMet: list.getAttribute('data-text-not-met') || '',
    count: list.getAttribute('data-text-count') || ''
  }
  var total = list.querySelectorAll('[data-rule]').length
  var timer = null

  function num (name) { return parseInt(list.getAttribute(name), 10) }

  // check is CheckPassword without the common-password list: which rules
  // the password meets, by name.
  function check (password) {
    var chars = Array.from(password) // code points, as utf8.RuneCountInString counts
    var has = { lower: false, upper: false, digit: false, symbol: false }
    chars.forEach(function (c) {
      if (lower.test(c)) has.lower = true
      else if (upper.test(c)) has.upper = true
      else if (digit.test(c)) has.digit = true
      else if (shape.symbols.indexOf(c) !== -1) has.symbol = true
    })
    var kinds = 0
    for (var k in has) if (has[k]) kinds++
    var n = chars.length
    return {
      length: n >= shape.min && n <= shape.max,
      kinds: kinds >= shape.kinds || n >= shape.passphrase
    }
  }

  function countMet (result) {
    var met = 0
    for (var name in result) if (result[name]) met++
    return met
  }

  // mark shows one rule as met (true), not met (false) or unchecked (null).
  function mark (name, met) {
    var item = list.querySelector('[data-rule="' + name + '"]')
    if (!item) return
    item.classList.toggle('app-password-rules__rule--met', met === true)
    item.classList.toggle('app-password-rules__rule--not-met', met === false)
    var markEl = item.querySelector('.app-password-rules__mark')
    var status = item.querySelector('.app-password-rules__status')
    if (markEl) markEl.textContent = met === null ? '' : met ? '\u2713' : '\u2717'
    if (status) status.textContent = met === null ? '' : ', ' + (met ? texts.met : texts.notMet)
  }

  var announced = countMet(check(input.value)) // what there is to say before any typing

  function update () {
    var result = check(input.value)
    for (var name in result) mark(name, result[name])
    mark('common', null)
    var met = countMet(result)
    window.clearTimeout(timer)
    timer = window.setTimeout(function () {
      if (met === announced) return
      announced = met
      live.textContent = texts.count.split('{met}').join(String(met)).split('{total}').join(String(total))
    }, ANNOUNCE_AFTER_MS)
  }

  input.addEventListener('input', update)
  if (input.value) update() // a value the browser put back
})()
