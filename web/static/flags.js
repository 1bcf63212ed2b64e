// Transcript editor: marks the words to check (Whisper unsure of them, or a name that looks
// like a glossary term but is spelt otherwise) and steps from one to the next.
// staff.js calls mark() for each cue it draws and rendered() after drawing them all.
(function () {
  "use strict";
  var at = -1;

  var places = function () {
    var out = [];
    document.querySelectorAll("#cues li.unsure").forEach(function (li) {
      (li.recallUnsure || []).forEach(function (w) { out.push({ li: li, word: w }); });
    });
    return out;
  };

  var mark = function (li, cue) {
    var flagged = (cue.words || []).filter(function (w) { return w.unsure; });
    li.recallUnsure = flagged;
    if (!flagged.length) { return; }
    li.classList.add("unsure");
    var note = document.createElement("p");
    note.className = "unsure-words";
    note.appendChild(document.createTextNode("Check: "));
    flagged.forEach(function (w) {
      var m = document.createElement("mark");
      m.textContent = w.word.trim() + (w.term ? " (" + w.term + "?)" : "");
      m.title = w.term ? "Looks like the glossary's " + w.term : "Whisper was unsure of this word";
      note.appendChild(m);
      note.appendChild(document.createTextNode(" "));
    });
    li.appendChild(note);
  };

  var rendered = function () {
    var count = document.getElementById("unsure-count");
    var nav = document.getElementById("unsure-nav");
    if (!count || !nav) { return; }
    var n = places().length;
    nav.hidden = n === 0;
    count.textContent = n + (n === 1 ? " word to check" : " words to check");
    at = -1;
  };

  var next = function () {
    var all = places();
    if (!all.length) { return; }
    at = (at + 1) % all.length;
    var place = all[at];
    var text = place.li.querySelector("textarea");
    var word = place.word.word.trim();
    var found = text.value.indexOf(word);
    text.focus();
    if (found >= 0) { text.setSelectionRange(found, found + word.length); }
    place.li.scrollIntoView({ block: "center" });
    var player = document.getElementById("player");
    if (player) { player.currentTime = place.word.start; }
    var count = document.getElementById("unsure-count");
    if (count) { count.textContent = (at + 1) + " of " + all.length + " words to check: " + word; }
  };

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("next-unsure");
    if (button) { button.addEventListener("click", next); }
  });
  window.RecallFlags = { mark: mark, rendered: rendered, next: next };
})();
