// "Send a document": progress while the file uploads (htmx's xhr progress
// events), and a "Select everyone" button for the recipients. Without
// JavaScript the form posts as a plain multipart form and the button stays
// hidden: ticking each person does the same.
(function () {
  'use strict'
  document.querySelectorAll('form[data-upload]').forEach(function (form) {
    var box = form.querySelector('.app-upload-progress')
    var bar = form.querySelector('progress')
    form.addEventListener('htmx:xhr:loadstart', function () {
      if (box) box.hidden = false
      if (bar) bar.value = 0
    })
    form.addEventListener('htmx:xhr:progress', function (event) {
      var d = event.detail
      if (bar && d && d.lengthComputable && d.total > 0) {
        bar.value = Math.round(d.loaded / d.total * 100)
      }
    })
    form.querySelectorAll('button[data-select-all]').forEach(function (button) {
      var name = button.getAttribute('data-select-all')
      button.hidden = false
      button.addEventListener('click', function () {
        form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
          box.checked = true
        })
      })
    })
  })
})()
