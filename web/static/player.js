// Recall's player: follows the transcript, seeks on click, plays clips, inline search hits.
// Everything here is an enhancement: every link works without JavaScript.
(function () {
  "use strict";

  function seek(media, seconds, andPlay) {
    var go = function () {
      media.currentTime = seconds;
      if (andPlay) { media.play().catch(function () {}); }
    };
    if (media.readyState >= 1) { go(); } else { media.addEventListener("loadedmetadata", go, { once: true }); }
  }

  function copy(text, status) {
    var done = function () { if (status) { status.textContent = "Copied"; setTimeout(function () { status.textContent = ""; }, 2000); } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "absolute"; area.style.left = "-9999px";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function num(value) { return value === "" || value === undefined ? null : parseFloat(value); }

  // Space toggles play/pause anywhere but in a field or on a button.
  function spaceToPause(media) {
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (e.key !== " " || /INPUT|TEXTAREA|SELECT|BUTTON|VIDEO|AUDIO/.test(tag)) { return; }
      e.preventDefault();
      if (media.paused) { media.play().catch(function () {}); } else { media.pause(); }
    });
  }

  function recordingPage(article) {
    var media = document.getElementById("player");
    if (!media) { return; }
    var start = num(article.dataset.start), end = num(article.dataset.end), at = num(article.dataset.t);
    var cues = Array.prototype.slice.call(document.querySelectorAll(".cue"));
    var pane = document.querySelector(".cues");
    var current = null;
    var replay = document.getElementById("replay");

    seek(media, at !== null ? at : (start !== null ? start : 0), false);

    function follow() {
      var t = media.currentTime;
      if (end !== null && t >= end) {
        media.pause();
        if (t > end + 0.25) { media.currentTime = end; }
        if (replay) { replay.hidden = false; }
      }
      if (end !== null) { t = Math.min(t, end - 0.01); }
      // The sentence holding t (the later one where two overlap), else, in a pause between
      // sentences or before the first, the one that follows.
      var found = null, next = null;
      for (var i = 0; i < cues.length; i++) {
        var cs = parseFloat(cues[i].dataset.start);
        if (cs <= t + 0.05 && t < parseFloat(cues[i].dataset.end)) { found = cues[i]; }
        if (next === null && cs > t) { next = cues[i]; }
      }
      if (!found) { found = next; }
      if (found !== current) {
        if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
        if (found) {
          found.classList.add("current"); found.setAttribute("aria-current", "true");
          if (pane) {
            var top = found.offsetTop - pane.offsetTop, bottom = top + found.offsetHeight;
            if (top < pane.scrollTop || bottom > pane.scrollTop + pane.clientHeight) {
              pane.scrollTo({ top: top - pane.clientHeight / 3, behavior: reducedMotion() ? "auto" : "smooth" });
            }
          }
        }
        current = found;
      }
    }
    media.addEventListener("timeupdate", follow);
    media.addEventListener("seeked", follow);

    // Playing on past a clip's end starts it again; seeking before its start is allowed.
    media.addEventListener("play", function () {
      if (end !== null && media.currentTime >= end - 0.05) { media.currentTime = start || 0; }
    });

    cues.forEach(function (cue) {
      cue.addEventListener("click", function (e) {
        e.preventDefault();
        seek(media, parseFloat(cue.dataset.start), true);
      });
    });

    var filter = document.getElementById("filter");
    if (filter) {
      filter.addEventListener("input", function () {
        var words = filter.value.toLowerCase().trim();
        cues.forEach(function (cue) {
          cue.parentElement.hidden = words !== "" && cue.textContent.toLowerCase().indexOf(words) < 0;
        });
      });
    }

    if (replay) { replay.addEventListener("click", function () { seek(media, start || 0, true); }); }

    var status = document.querySelector(".copied");
    var share = document.getElementById("share");
    if (share) {
      share.addEventListener("click", function () {
        var url = location.origin + location.pathname + "?t=" + Math.floor(media.currentTime);
        copy(url, status);
      });
    }
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copy(button.dataset.copy, status); });
    });
    spaceToPause(media);
    var frame = media.parentElement;
    if (frame.classList.contains("audio")) { captionLine(media, frame); }
    playbackControls(media);
    mentionButtons(media);
    if (article.classList.contains("embedded")) { clipControls(media, start, end, article); }
    clipMaker(media, start, end);
  }

  function searchPage() {
    var active = null;
    document.querySelectorAll(".result").forEach(function (section) {
      section.querySelectorAll(".hit-play").forEach(function (link) {
        link.addEventListener("click", function (e) {
          if (e.metaKey || e.ctrlKey || e.shiftKey) { return; }  // a new tab keeps the plain link
          e.preventDefault();
          var holder = section.querySelector(".inline-player");
          var media = holder.querySelector("video");
          if (!media) {
            media = document.createElement("video");
            media.controls = true; media.preload = "metadata"; media.setAttribute("playsinline", "");
            if (section.dataset.poster) { media.poster = section.dataset.poster; }
            media.src = section.dataset.src;
            var track = document.createElement("track");
            track.kind = "captions"; track.label = "Captions"; track.srclang = section.dataset.lang || "en";
            track.src = section.dataset.track; track.default = true;
            media.appendChild(track);
            holder.appendChild(media);
            holder.hidden = false;
            if (section.dataset.video === "0") { holder.classList.add("audio"); captionLine(media, holder); }
          }
          document.querySelectorAll("video").forEach(function (other) { if (other !== media) { other.pause(); } });
          if (active) { active.classList.remove("playing"); }
          link.classList.add("playing"); active = link;
          seek(media, parseFloat(link.dataset.start), true);
        });
      });
    });
    var first = document.querySelector(".hit-play");
    if (first) {
      document.addEventListener("keydown", function (e) {
        var tag = (e.target && e.target.tagName) || "";
        if (e.key !== " " || /INPUT|TEXTAREA|SELECT|BUTTON|VIDEO/.test(tag)) { return; }
        var playing = document.querySelector(".inline-player video");
        if (!playing) { return; }
        e.preventDefault();
        if (playing.paused) { playing.play().catch(function () {}); } else { playing.pause(); }
      });
    }
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    var ss = ("0" + (s % 60)).slice(-2);
    return h ? h + ":" + ("0" + m).slice(-2) + ":" + ss : m + ":" + ss;
  }

  // Captions sit this many lines up from the bottom, above a control bar drawn over the
  // picture (an audio recording's small player, an embedded clip's own controls).
  function liftCaptions(media, lines) {
    var track = media.textTracks && media.textTracks[0];
    if (!track) { return; }
    var lift = function () {
      Array.prototype.forEach.call(track.cues || [], function (cue) { cue.snapToLines = true; cue.line = -lines; });
    };
    var element = media.querySelector("track");
    if (element) { element.addEventListener("load", lift); }
    lift();
  }

  // An audio recording's player is a short box whose control bar would cover the captions:
  // they are drawn here instead, in a line above the controls.
  function captionLine(media, holder) {
    var track = media.textTracks && media.textTracks[0];
    if (!track || holder.querySelector(".caption-line")) { return; }
    var line = document.createElement("div");
    line.className = "caption-line"; line.setAttribute("aria-hidden", "true"); line.hidden = true;
    holder.appendChild(line);
    holder.classList.add("has-caption-line");
    track.mode = "hidden";
    var show = function () {
      var cues = track.activeCues || [], text = [];
      for (var i = 0; i < cues.length; i++) { text.push(cues[i].text); }
      line.textContent = text.join(" ");
      line.hidden = !text.length || media.dataset.captions === "off";
    };
    track.addEventListener("cuechange", show);
    media.addEventListener("captionschange", show);
  }

  function captionsOn(media, on) {
    media.dataset.captions = on ? "on" : "off";
    var track = media.textTracks && media.textTracks[0];
    if (track) { track.mode = on && !media.parentElement.querySelector(".caption-line") ? "showing" : "hidden"; }
    media.dispatchEvent(new Event("captionschange"));
    document.querySelectorAll(".captions-toggle").forEach(function (b) { b.setAttribute("aria-pressed", on ? "true" : "false"); });
  }

  // Previous / next mention of the query the page was opened with (?q=).
  function mentionButtons(media) {
    var box = document.querySelector("[data-mentions]");
    if (!box) { return; }
    var length = parseFloat(box.querySelector(".mention-strip").dataset.duration) || 1;
    box.querySelectorAll(".mention-mark").forEach(function (mark) {
      // Placed here: the site's CSP allows no style attributes.
      mark.parentElement.style.left = (100 * parseFloat(mark.dataset.start) / length) + "%";
      mark.addEventListener("click", function (e) { e.preventDefault(); seek(media, parseFloat(mark.dataset.start), true); });
    });
    var times = Array.prototype.map.call(box.querySelectorAll(".mention-mark"), function (a) { return parseFloat(a.dataset.start); });
    box.querySelector(".mention-next").addEventListener("click", function () {
      var t = media.currentTime, next = times.filter(function (x) { return x > t + 0.5; })[0];
      if (next !== undefined) { seek(media, next, true); }
    });
    box.querySelector(".mention-prev").addEventListener("click", function () {
      var t = media.currentTime, before = times.filter(function (x) { return x < t - 1.5; });
      if (before.length) { seek(media, before[before.length - 1], true); }
    });
  }

  var SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];

  // Captions and speed controls, and the keyboard shortcuts listed behind "?".
  function playbackControls(media) {
    var toggle = document.querySelector(".captions-toggle"), speed = document.querySelector(".speed");
    var keysButton = document.querySelector(".keys-open"), keys = document.getElementById("keys");
    if (toggle) { toggle.addEventListener("click", function () { captionsOn(media, media.dataset.captions === "off"); }); }
    function setSpeed(rate) { media.playbackRate = rate; if (speed) { speed.value = String(rate); } }
    if (speed) { speed.addEventListener("change", function () { setSpeed(parseFloat(speed.value)); }); }
    function showKeys() {
      if (!keys) { return; }
      keys.hidden = !keys.hidden;
      if (keysButton) { keysButton.setAttribute("aria-expanded", keys.hidden ? "false" : "true"); }
    }
    if (keysButton) { keysButton.addEventListener("click", showKeys); }
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (e.ctrlKey || e.metaKey || e.altKey || /INPUT|TEXTAREA|SELECT/.test(tag)) { return; }
      var k = e.key, handled = true;
      if (k === "k" || k === "K") { if (media.paused) { media.play().catch(function () {}); } else { media.pause(); } }
      else if (k === "j" || k === "J") { media.currentTime = Math.max(0, media.currentTime - 10); }
      else if (k === "l" || k === "L") { media.currentTime = media.currentTime + 10; }
      else if (k === "ArrowLeft" && tag !== "BUTTON" && tag !== "A") { media.currentTime = Math.max(0, media.currentTime - 5); }
      else if (k === "ArrowRight" && tag !== "BUTTON" && tag !== "A") { media.currentTime = media.currentTime + 5; }
      else if (k === "c" || k === "C") { captionsOn(media, media.dataset.captions === "off"); }
      else if (k === "m" || k === "M") { media.muted = !media.muted; }
      else if (k === "f" || k === "F") {
        if (document.fullscreenElement) { document.exitFullscreen(); } else if (media.requestFullscreen) { media.requestFullscreen().catch(function () {}); }
      }
      else if (k === "<" || k === ">") {
        var i = SPEEDS.indexOf(media.playbackRate); if (i < 0) { i = 2; }
        setSpeed(SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, i + (k === ">" ? 1 : -1)))]);
      }
      else if (k === "?") { showKeys(); }
      else { handled = false; }
      if (handled) { e.preventDefault(); }
    });
  }

  // An embedded clip's own controls: the timeline is the clip alone, every control named.
  function clipControls(media, start, end, root) {
    var bar = root.querySelector(".clip-controls");
    if (!bar || end === null) { return; }
    var length = end - (start || 0);
    var play = bar.querySelector(".cc-play"), seekBar = bar.querySelector(".cc-seek"), time = bar.querySelector(".cc-time");
    var captions = bar.querySelector(".cc-captions"), mute = bar.querySelector(".cc-mute"), full = bar.querySelector(".cc-full");
    media.controls = false; bar.hidden = false;
    function toggle() { if (media.paused) { media.play().catch(function () {}); } else { media.pause(); } }
    function show() {
      var into = Math.min(Math.max(0, media.currentTime - (start || 0)), length);
      seekBar.value = into.toFixed(1);
      seekBar.setAttribute("aria-valuetext", clock(into) + " of " + clock(length));
      time.textContent = clock(into) + " / " + clock(length);
      play.setAttribute("aria-label", media.paused ? "Play" : "Pause");
      play.textContent = media.paused ? "▶" : "❚❚";
      root.classList.toggle("playing", !media.paused);
    }
    ["timeupdate", "play", "pause", "seeked", "loadedmetadata"].forEach(function (name) { media.addEventListener(name, show); });
    play.addEventListener("click", toggle);
    media.addEventListener("click", toggle);
    seekBar.addEventListener("input", function () { media.currentTime = (start || 0) + parseFloat(seekBar.value); });
    captions.addEventListener("click", function () {
      var track = media.textTracks[0], on = captions.getAttribute("aria-pressed") !== "true";
      if (track) { track.mode = on ? "showing" : "hidden"; }
      captions.setAttribute("aria-pressed", on ? "true" : "false");
    });
    mute.addEventListener("click", function () {
      media.muted = !media.muted;
      mute.setAttribute("aria-pressed", media.muted ? "true" : "false");
    });
    full.addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else if (root.requestFullscreen) { root.requestFullscreen().catch(function () {}); }
    });
    show();
  }

  // The clip maker: start and end handles that step from sentence edge to sentence edge
  // (Alt: 0.1 s, Shift: 1 s), the sentences in range with checkboxes at the edges, a preview
  // and the clip's address.
  function clipMaker(media, start, end) {
    var maker = document.querySelector(".clip-maker");
    if (!maker) { return; }
    var sentences = null, ready = null;
    // The whole transcript is fetched when the maker first opens: a clip page lists only
    // the clip's sentences, and most visitors never open the maker.
    function load() {
      if (!ready) {
        ready = fetch(maker.dataset.sentences).then(function (r) { return r.json(); }).then(function (data) {
          sentences = data.segments.filter(function (s) { return s.end > s.start; })
            .map(function (s) { return [s.start, s.end, s.text]; });
          starts = sentences.map(function (s) { return s[0]; }); ends = sentences.map(function (s) { return s[1]; });
        });
      }
      return ready;
    }
    var duration = parseFloat(maker.dataset.duration);
    var from = maker.querySelector(".cm-start"), to = maker.querySelector(".cm-end");
    var list = maker.querySelector(".cm-sentences"), times = maker.querySelector(".cm-times");
    var url = maker.querySelector(".cm-url"), go = maker.querySelector(".cm-go");
    var range = maker.querySelector(".cm-range");
    var starts = [], ends = [];
    var a = 0, b = 0, previewEnd = null;

    function round(x) { return Math.round(x * 100) / 100; }
    function nearest(edges, x) {
      var best = edges[0];
      edges.forEach(function (e) { if (Math.abs(e - x) < Math.abs(best - x)) { best = e; } });
      return best;
    }
    function stepTo(edges, x, dir) {
      var found = null;
      edges.forEach(function (e) {
        if (dir > 0 && e > x + 0.01 && (found === null || e < found)) { found = e; }
        if (dir < 0 && e < x - 0.01 && (found === null || e > found)) { found = e; }
      });
      return found === null ? x : found;
    }
    function sentenceAt(t) {
      for (var i = 0; i < sentences.length; i++) { if (sentences[i][1] > t) { return i; } }
      return sentences.length - 1;
    }
    function set(newA, newB, seekTo) {
      a = round(Math.min(Math.max(0, newA), duration));
      b = round(Math.min(Math.max(a + 0.1, newB), duration));
      from.value = a; to.value = b;
      from.setAttribute("aria-valuetext", clock(a)); to.setAttribute("aria-valuetext", clock(b));
      range.style.left = (100 * a / duration) + "%"; range.style.width = (100 * (b - a) / duration) + "%";
      times.textContent = clock(a) + " – " + clock(b) + " (" + Math.round(b - a) + " s)";
      var address = maker.dataset.base + "?start=" + a + "&end=" + b;
      url.value = address; go.href = address;
      draw();
      if (seekTo !== null && seekTo !== undefined) { media.pause(); seek(media, seekTo, false); }
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
        label.htmlFor = box.id; label.textContent = clock(sentences[i][0]) + " " + sentences[i][2];
        item.appendChild(box); item.appendChild(label); list.appendChild(item);
        box.addEventListener("change", onBox);
      }
    }
    function onBox(e) {
      var i = parseInt(e.target.dataset.index, 10), first = sentenceAt(a), last = sentenceAt(b - 0.01);
      var focusId = e.target.id;
      if (e.target.checked) {
        if (i < first) { set(sentences[i][0], b, sentences[i][0]); } else { set(a, sentences[i][1], null); }
      } else if (i === first) { set(sentences[i + 1][0], b, sentences[i + 1][0]); } else { set(a, sentences[i - 1][1], null); }
      var again = document.getElementById(focusId);
      if (again) { again.focus(); }
    }
    function keys(handle, edges, isStart) {
      handle.addEventListener("keydown", function (e) {
        var dir = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
        if (!dir) { return; }
        e.preventDefault();
        var now = isStart ? a : b;
        var next = e.altKey ? now + dir * 0.1 : e.shiftKey ? now + dir : stepTo(edges(), now, dir);
        if (isStart) { set(Math.min(next, b - 0.1), b, next); } else { set(a, Math.max(next, a + 0.1), null); }
      });
      handle.addEventListener("input", function () {
        var x = nearest(edges(), parseFloat(handle.value));
        if (isStart) { set(Math.min(x, b - 0.1), b, x); } else { set(a, Math.max(x, a + 0.1), null); }
      });
    }
    keys(from, function () { return starts; }, true); keys(to, function () { return ends; }, false);

    maker.querySelector(".cm-copy").addEventListener("click", function () { copy(url.value, document.querySelector(".copied")); });
    maker.querySelector(".cm-preview").addEventListener("click", function () { previewEnd = b; seek(media, a, true); });
    media.addEventListener("timeupdate", function () {
      if (previewEnd !== null && media.currentTime >= previewEnd) { media.pause(); previewEnd = null; }
    });
    document.querySelectorAll(".clip-open").forEach(function (button) {
      button.addEventListener("click", function () {
        var open = maker.hidden;
        if (!open) { maker.hidden = true; button.setAttribute("aria-expanded", "false"); return; }
        load().then(function () {
          if (!sentences.length) { return; }
          maker.hidden = false;
          button.setAttribute("aria-expanded", "true");
          if (start !== null && end !== null) { set(start, end, null); } else {
            var i = sentenceAt(media.currentTime);
            set(sentences[i][0], sentences[i][1], null);
          }
          from.focus();
        });
      });
    });
  }

  // A moments playlist: every moment of a query, one after another in one player.
  function playlist(root) {
    var media = document.getElementById("player");
    var items = Array.prototype.slice.call(root.querySelectorAll(".moment"));
    if (!media || !items.length) { return; }
    var now = root.querySelector(".pl-now"), index = -1, switching = false;
    function load(i, andPlay) {
      if (i < 0 || i >= items.length) { return; }
      var item = items[i], src = item.dataset.src;
      if (index >= 0) { items[index].classList.remove("current"); items[index].removeAttribute("aria-current"); }
      index = i;
      item.classList.add("current"); item.setAttribute("aria-current", "true");
      switching = true;
      if (media.dataset.src !== src) {
        media.dataset.src = src;
        media.src = src;
        if (item.dataset.poster) { media.poster = item.dataset.poster; } else { media.removeAttribute("poster"); }
      }
      // The moment's own captions, at the recording's times.
      Array.prototype.slice.call(media.querySelectorAll("track")).forEach(function (t) { t.remove(); });
      var track = document.createElement("track");
      track.kind = "captions"; track.label = "Captions"; track.srclang = document.documentElement.lang || "en";
      track.src = item.dataset.track; track.default = true;
      media.appendChild(track);
      if (media.textTracks[0]) { media.textTracks[0].mode = "showing"; }
      var start = parseFloat(item.dataset.start);
      seek(media, start, andPlay);
      media.addEventListener("seeked", function () { switching = false; }, { once: true });
      now.textContent = "Moment " + (i + 1) + " of " + items.length + ": " + item.dataset.title + " at " + clock(start);
      var list = item.parentElement;
      if (!list.hidden && list.scrollHeight > list.clientHeight) {
        list.scrollTo({ top: item.offsetTop - list.offsetTop, behavior: reducedMotion() ? "auto" : "smooth" });
      }
    }
    media.addEventListener("timeupdate", function () {
      if (switching || index < 0) { return; }
      if (media.currentTime >= parseFloat(items[index].dataset.end)) {
        if (index + 1 < items.length) { load(index + 1, true); } else { media.pause(); }
      }
    });
    items.forEach(function (item, i) {
      item.querySelector(".moment-play").addEventListener("click", function () { load(i, true); });
    });
    root.querySelector(".pl-prev").addEventListener("click", function () { load(Math.max(0, index - 1), true); });
    root.querySelector(".pl-next").addEventListener("click", function () { load(Math.min(items.length - 1, index + 1), true); });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () { copy(button.dataset.copy, document.querySelector(".copied")); });
    });
    spaceToPause(media);
    load(0, false);
  }

  var list = document.querySelector("[data-playlist]");
  if (list) { playlist(list); return; }
  var article = document.querySelector("article.recording, main.recording");
  if (article) { recordingPage(article); } else { searchPage(); }
})();
