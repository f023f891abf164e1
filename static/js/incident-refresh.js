// The incident page reloads itself every N seconds (data-seconds on #auto-refresh) while nobody is typing:
// a crisis page stays current on a phone without anyone pressing Refresh. The page works without it.
(function () {
  "use strict";
  var holder = document.getElementById("auto-refresh");
  if (!holder) { return; }
  var seconds = parseInt(holder.getAttribute("data-seconds"), 10) || 30;
  var key = "bcp-incident-auto-refresh";
  var stored = null;
  try { stored = window.localStorage.getItem(key); } catch (e) { stored = null; }
  var on = stored !== "off";

  var label = document.createElement("label");
  var box = document.createElement("input");
  box.type = "checkbox";
  box.checked = on;
  label.appendChild(box);
  label.appendChild(document.createTextNode(" reload every " + seconds + " s"));
  holder.appendChild(document.createTextNode("· "));
  holder.appendChild(label);
  box.addEventListener("change", function () {
    on = box.checked;
    try { window.localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* private mode */ }
  });

  function busy() {
    var active = document.activeElement;
    if (active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName) && active !== box) { return true; }
    var fields = document.querySelectorAll("form input[type=text], form input[type=datetime-local], form textarea");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value) { return true; } }
    return false;
  }

  window.setInterval(function () {
    if (on && !busy() && document.visibilityState !== "hidden") { window.location.reload(); }
  }, seconds * 1000);
})();
