// Tell the server the browser's time zone, so that it renders times in it (TimeZoneMiddleware).
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && document.cookie.indexOf("flowdesk_tz=" + zone) === -1) {
    document.cookie = "flowdesk_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  }
})();

// Behaviour the templates ask for by data attribute: the Content-Security-Policy allows no
// inline handlers (onclick=…). Delegated, so content swapped in by htmx works too.
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-fd-autosubmit]")) {
    event.target.form.submit();
  }
});
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-fd-print]")) {
    window.print();
  }
});

// data-fd-depth="2" → the CSS variable --depth (indents tree rows): set through the DOM,
// which the policy allows, instead of a style="" attribute, which it does not.
function fdApplyDepth(root) {
  root.querySelectorAll("[data-fd-depth]").forEach(function (element) {
    element.style.setProperty("--depth", element.dataset.fdDepth);
  });
}
fdApplyDepth(document);
document.addEventListener("htmx:load", function (event) { fdApplyDepth(event.target); });
