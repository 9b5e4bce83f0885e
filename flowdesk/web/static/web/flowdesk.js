// Tell the server the browser's time zone, so that it renders times in it (TimeZoneMiddleware).
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && document.cookie.indexOf("flowdesk_tz=" + zone) === -1) {
    document.cookie = "flowdesk_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  }
})();
