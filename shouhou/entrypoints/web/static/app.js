// Live countdowns: each [data-due] shows the time left until its deadline, at the engine's clock
// (body[data-now], which a test may have moved), and turns urgent in its last hours, late once passed.
(function () {
  "use strict";
  var URGENT = 6 * 3600 * 1000;
  var serverNow = Date.parse(document.body.getAttribute("data-now"));
  var offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  var en = document.body.getAttribute("data-lang") === "en";
  function fmt(ms) {
    var late = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var text = (d ? d + (en ? "d " : "天") : "") + h + (en ? "h " : "小时") + m + (en ? "m" : "分");
    return late ? (en ? "overdue " + text : "已超时 " + text) : (en ? text + " left" : "剩 " + text);
  }
  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-due")) - now;
      el.textContent = fmt(left);
      el.classList.remove("ok", "urgent", "late");
      el.classList.add(left <= 0 ? "late" : left <= URGENT ? "urgent" : "ok");
    });
  }
  tick();
  setInterval(tick, 1000);
})();
