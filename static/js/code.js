// Sign-in codes: once all six digits are typed (or pasted), send the form,
// as guide 000 promises ("you'll be automatically signed in"). The button
// stays for anyone without JavaScript.
(function () {
  'use strict'
  document.querySelectorAll('input[data-autosubmit]').forEach(function (input) {
    var length = parseInt(input.getAttribute('data-autosubmit'), 10)
    var sent = false
    input.addEventListener('input', function () {
      var digits = input.value.replace(/\D/g, '')
      if (digits !== input.value) input.value = digits
      if (!sent && digits.length === length && input.form) {
        sent = true
        input.form.requestSubmit()
      }
    })
  })
})()
