// The clip maker on the recording and clip pages: start and end handles on a strip, the
// sentences in range with checkboxes at the edges, a preview and the clip's address.
//
// A clip is always whole sentences: the server snaps every ?start=&end= with
// library.clips.clip_edges (the start to the start of the sentence holding it or, in a
// pause, the next one; the end to the end of the sentence holding it or the one before).
// The maker applies that same rule to every move, so the edges it shows, the address it
// copies and the preview it plays are the clip the page, the download and its captions give.
// An arrow key steps an edge to the next sentence edge; Alt (0.1 s) or Shift (1 s) nudges
// it that far and then to the edge the clip will really have, and a nudge that would leave
// the edge where it was (inside a sentence, or in the pause beside it) goes on to the next
// sentence edge, so every key press that can change the clip does.
(function () {
  "use strict";
  var R = window.Recall, maker = document.querySelector(".clip-maker"), media = document.getElementById("player");
  if (!R || !maker || !media) { return; }
  var article = document.querySelector("article.recording");
  var given = article && article.dataset.end ? [parseFloat(article.dataset.start), parseFloat(article.dataset.end)] : null;
  var duration = parseFloat(maker.dataset.duration);
  var from = maker.querySelector(".cm-start"), to = maker.querySelector(".cm-end");
  var list = maker.querySelector(".cm-sentences"), times = maker.querySelector(".cm-times");
  var url = maker.querySelector(".cm-url"), go = maker.querySelector(".cm-go");
  var range = maker.querySelector(".cm-range");
  var sentences = [], starts = [], ends = [], ready = null;
  var a = 0, b = 0, previewEnd = null;

  // The whole transcript is fetched when the maker first opens: a clip page lists only the
  // clip's sentences, and most visitors never open the maker.
  function load() {
    if (!ready) {
      ready = fetch(maker.dataset.sentences).then(function (r) { return r.json(); }).then(function (data) {
        sentences = data.segments.filter(function (s) { return s.end > s.start; })
          .sort(function (x, y) { return x.start - y.start; })
          .map(function (s) { return [s.start, s.end, s.text]; });
        starts = sentences.map(function (s) { return s[0]; }); ends = sentences.map(function (s) { return s[1]; });
      });
    }
    return ready;
  }

  // library.clips.clip_edges, for a recording with a transcript: [start, end] or null when
  // the range holds no sentence.
  function edges(x, y) {
    x = Math.min(Math.max(0, x), duration); y = Math.min(y, duration);
    if (y <= x) { return null; }  // the server refuses a clip that ends before it starts
    var first = null, last = null, i;
    for (i = 0; i < sentences.length && first === null; i++) { if (sentences[i][1] > x) { first = sentences[i][0]; } }
    for (i = sentences.length - 1; i >= 0 && last === null; i--) { if (sentences[i][0] < y) { last = sentences[i][1]; } }
    if (first === null || last === null || first >= last) { return null; }
    return [Math.max(0, first), Math.min(duration, last)];
  }
  // The sentence edge after (dir 1) or before (dir -1) x, or null.
  function stepFrom(list, x, dir) {
    var found = null;
    list.forEach(function (e) {
      if (dir > 0 && e > x + 0.001 && (found === null || e < found)) { found = e; }
      if (dir < 0 && e < x - 0.001 && (found === null || e > found)) { found = e; }
    });
    return found;
  }
  // Moves one edge to ``wanted``, as the server will snap it; when that leaves the clip as it
  // was, on in direction ``dir`` (if any) from sentence edge to sentence edge until it changes.
  function move(isStart, wanted, dir) {
    for (var x = wanted; x !== null; x = dir ? stepFrom(isStart ? starts : ends, x, dir) : null) {
      var got = isStart ? edges(x, b) : edges(a, x);
      if (got && (got[0] !== a || got[1] !== b)) { return set(got[0], got[1], isStart ? got[0] : null); }
    }
    set(a, b, null);  // nothing changes: the handle goes back to the clip's edge
  }
  function number(x) { return String(Math.round(x * 1000) / 1000); }
  function sentenceAt(t) {
    for (var i = 0; i < sentences.length; i++) { if (sentences[i][1] > t) { return i; } }
    return sentences.length - 1;
  }
  function set(newA, newB, seekTo) {
    var got = edges(newA, newB) || [a, b];
    a = got[0]; b = got[1];
    from.value = a; to.value = b;
    from.setAttribute("aria-valuetext", R.clock(a)); to.setAttribute("aria-valuetext", R.clock(b));
    range.style.left = (100 * a / duration) + "%"; range.style.width = (100 * (b - a) / duration) + "%";
    times.textContent = R.clock(a) + " – " + R.clock(b) + " (" + Math.round(b - a) + " s)";
    var address = maker.dataset.base + "?start=" + number(a) + "&end=" + number(b);
    url.value = address; go.href = address;
    draw();
    if (seekTo !== null && seekTo !== undefined) { media.pause(); R.seek(media, seekTo, false); }
  }
  // The sentences in range, and one either side: the edges' boxes move the range by one
  // sentence; those between them stay ticked.
  function draw() {
    list.textContent = "";
    var first = sentenceAt(a), last = sentenceAt(b - 0.01);
    for (var i = Math.max(0, first - 1); i <= Math.min(sentences.length - 1, last + 1); i++) {
      var inside = i >= first && i <= last, edge = i === first || i === last || !inside;
      var item = document.createElement("li"), box = document.createElement("input"), label = document.createElement("label");
      box.type = "checkbox"; box.id = "cm-s" + i; box.checked = inside; box.disabled = !edge || (inside && first === last);
      box.dataset.index = i;
      label.htmlFor = box.id; label.textContent = R.clock(sentences[i][0]) + " " + sentences[i][2];
      item.appendChild(box); item.appendChild(label); list.appendChild(item);
      box.addEventListener("change", onBox);
    }
  }
  function onBox(e) {
    var i = parseInt(e.target.dataset.index, 10), first = sentenceAt(a), focusId = e.target.id;
    if (e.target.checked) {
      if (i < first) { set(sentences[i][0], b, sentences[i][0]); } else { set(a, sentences[i][1], null); }
    } else if (i === first) { set(sentences[i + 1][0], b, sentences[i + 1][0]); } else { set(a, sentences[i - 1][1], null); }
    var again = document.getElementById(focusId);
    if (again) { again.focus(); }
  }
  function keys(handle, isStart) {
    handle.addEventListener("keydown", function (e) {
      var dir = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
      if (!dir) { return; }
      e.preventDefault();
      var now = isStart ? a : b, by = e.altKey ? 0.1 : e.shiftKey ? 1 : 0;
      move(isStart, by ? now + dir * by : stepFrom(isStart ? starts : ends, now, dir), dir);
    });
    handle.addEventListener("input", function () { move(isStart, parseFloat(handle.value), 0); });
  }
  keys(from, true); keys(to, false);

  maker.querySelector(".cm-copy").addEventListener("click", function () { R.copy(url.value, document.querySelector(".copied")); });
  maker.querySelector(".cm-preview").addEventListener("click", function () { previewEnd = b; R.seek(media, a, true); });
  media.addEventListener("timeupdate", function () {
    if (previewEnd !== null && media.currentTime >= previewEnd) { media.pause(); previewEnd = null; }
  });
  document.querySelectorAll(".clip-open").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!maker.hidden) { maker.hidden = true; button.setAttribute("aria-expanded", "false"); return; }
      load().then(function () {
        if (!sentences.length) { return; }
        maker.hidden = false;
        button.setAttribute("aria-expanded", "true");
        if (given) { set(given[0], given[1], null); } else {
          var i = sentenceAt(media.currentTime);
          set(sentences[i][0], sentences[i][1], null);
        }
        from.focus();
      });
    });
  });
})();
