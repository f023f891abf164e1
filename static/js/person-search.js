/* Person fields (plans/person_search.py): suggestions while typing.
 *
 * Inputs and text areas carrying data-person-search="<url>" ask that URL (?q=...) for people
 * of the user's organisation, after a short pause in typing. An input gets a <datalist>; a
 * text area (one person per line) gets a list of buttons that replace the line being typed.
 * Without this script the field is a plain search box: the server resolves what was typed.
 */
(function () {
  "use strict";

  var DELAY_MS = 200;
  var counter = 0;

  function currentEntry(area) {
    var before = area.value.slice(0, area.selectionStart);
    var start = Math.max(before.lastIndexOf("\n"), before.lastIndexOf(","), before.lastIndexOf(";")) + 1;
    var rest = area.value.slice(start);
    var endMatch = rest.search(/[\n,;]/);
    var end = endMatch === -1 ? area.value.length : start + endMatch;
    return { start: start, end: end, text: area.value.slice(start, end).trim() };
  }

  function enhance(field) {
    var url = field.getAttribute("data-person-search");
    var isArea = field.tagName === "TEXTAREA";
    var timer = null;
    var controller = null;
    var lastQuery = null;
    var box;

    counter += 1;
    if (isArea) {
      box = document.createElement("ul");
      box.className = "person-suggestions";
      box.id = (field.id || "person-field-" + counter) + "-suggestions";
      box.hidden = true;
      field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " " + box.id).trim());
      field.insertAdjacentElement("afterend", box);
    } else {
      box = document.createElement("datalist");
      box.id = (field.id || "person-field-" + counter) + "-people";
      field.setAttribute("list", box.id);
      field.insertAdjacentElement("afterend", box);
    }

    function show(results) {
      box.replaceChildren();
      results.forEach(function (person) {
        if (isArea) {
          var item = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "link-button";
          button.textContent = person.label;
          button.addEventListener("click", function () {
            var entry = currentEntry(field);
            var before = field.value.slice(0, entry.start);
            var after = field.value.slice(entry.end);
            field.value = before + person.label + (after ? "" : "\n") + after;
            box.hidden = true;
            field.focus();
          });
          item.appendChild(button);
          box.appendChild(item);
        } else {
          var option = document.createElement("option");
          option.value = person.label;
          box.appendChild(option);
        }
      });
      if (isArea) {
        box.hidden = results.length === 0;
      }
    }

    function search() {
      var query = isArea ? currentEntry(field).text : field.value.trim();
      if (query === lastQuery) {
        return;
      }
      lastQuery = query;
      if (controller) {
        controller.abort();
      }
      if (!query || /\(.*\)\s*$/.test(query)) { // empty, or a suggestion already chosen
        show([]);
        return;
      }
      controller = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller.signal
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { show(data.results || []); })
        .catch(function () { /* aborted or offline: the plain field still works */ });
    }

    field.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY_MS);
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-person-search]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
