// The sign-in page: nobody is signed in in this tab, so nothing the builder kept here may stay
// (a sign-out from any page, an expired session, or a browser without Clear-Site-Data support).
;(function () {
  try {
    var store = window.sessionStorage
    var stale = []
    for (var i = 0; i < store.length; i += 1) {
      var key = store.key(i)
      if (key && key.indexOf('playbookBuilder.') === 0) stale.push(key)
    }
    stale.forEach(function (key) {
      store.removeItem(key)
    })
  } catch (e) {
    /* storage disabled: nothing was kept */
  }
})()
