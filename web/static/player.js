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

  // Space toggles play/pause anywhere but in a field or on a button. ``media`` may be a
  // function: the search page's inline player is made on the first hit played.
  function spaceToPause(media) {
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "", m = typeof media === "function" ? media() : media;
      if (!m || e.key !== " " || /INPUT|TEXTAREA|SELECT|BUTTON|VIDEO|AUDIO/.test(tag)) { return; }
      e.preventDefault();
      if (m.paused) { m.play().catch(function () {}); } else { m.pause(); }
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
            var frame = document.createElement("div");
            frame.className = "inline-frame"; frame.appendChild(media);
            holder.appendChild(frame);
            holder.appendChild(playbackRow(section.dataset.recording));
            holder.hidden = false;
            if (section.dataset.video === "0") { holder.classList.add("audio"); captionLine(media, frame); }
            playbackControls(media, true, holder);
          }
          document.querySelectorAll("video").forEach(function (other) { if (other !== media) { other.pause(); } });
          if (active) { active.classList.remove("playing"); }
          link.classList.add("playing"); active = link;
          seek(media, parseFloat(link.dataset.start), true);
        });
      });
    });
    if (document.querySelector(".hit-play")) {
      spaceToPause(function () { return document.querySelector(".inline-player video"); });
    }
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    var ss = ("0" + (s % 60)).slice(-2);
    return h ? h + ":" + ("0" + m).slice(-2) + ":" + ss : m + ":" + ss;
  }

  // The words of a cue as text: "<v Name>" voices and "&amp;" entities are markup in WebVTT.
  function cueText(cue) {
    return cue.getCueAsHTML ? cue.getCueAsHTML().textContent : cue.text;
  }

  // The part of a long sentence that is on screen at time t: pieces that fit two lines of
  // the caption line, each shown for its share of the sentence's time.
  function captionPiece(cue, t, line) {
    var text = cueText(cue).replace(/\s+/g, " ").trim();
    var em = parseFloat(getComputedStyle(line).fontSize) || 16;
    var width = line.parentElement.clientWidth * 0.88;
    var most = Math.max(24, Math.floor(2 * width / (0.58 * em)));
    if (text.length <= most) { return text; }
    var pieces = [], piece = "";
    text.split(" ").forEach(function (word) {
      if (piece && (piece + " " + word).length > most) { pieces.push(piece); piece = word; } else { piece = piece ? piece + " " + word : word; }
    });
    if (piece) { pieces.push(piece); }
    var into = (t - cue.startTime) / Math.max(0.01, cue.endTime - cue.startTime) * text.length, seen = 0;
    for (var i = 0; i < pieces.length; i++) {
      seen += pieces[i].length + 1;
      if (into < seen) { return pieces[i]; }
    }
    return pieces[pieces.length - 1];
  }

  // A short player (an audio recording's, the editor's) would hide the captions behind its
  // control bar: they are drawn here instead, in a line of at most two rows above the
  // controls. The page's caption track is followed even when a playlist swaps it.
  function captionLine(media, holder) {
    if (holder.querySelector(".caption-line")) { return; }
    var line = document.createElement("div");
    line.className = "caption-line"; line.setAttribute("aria-hidden", "true"); line.hidden = true;
    holder.appendChild(line);
    holder.classList.add("has-caption-line");
    var show = function () {
      var track = media.textTracks && media.textTracks[0];
      var cues = (track && track.activeCues) || [], text = [];
      if (track && track.mode === "showing") { track.mode = "hidden"; }
      for (var i = 0; i < cues.length; i++) { text.push(captionPiece(cues[i], media.currentTime, line)); }
      line.textContent = text.join(" ");
      line.hidden = !text.length || media.dataset.captions === "off";
    };
    var watch = function (track) { track.mode = "hidden"; track.addEventListener("cuechange", show); };
    Array.prototype.forEach.call(media.textTracks || [], watch);
    if (media.textTracks) { media.textTracks.addEventListener("addtrack", function (e) { watch(e.track); }); }
    ["timeupdate", "seeked", "captionschange"].forEach(function (name) { media.addEventListener(name, show); });
  }

  // The toggles of an inline search player are its own; a page's are the page's.
  function captionsOn(media, on) {
    media.dataset.captions = on ? "on" : "off";
    var track = media.textTracks && media.textTracks[0];
    if (track) { track.mode = on && !media.parentElement.querySelector(".caption-line") ? "showing" : "hidden"; }
    media.dispatchEvent(new Event("captionschange"));
    (media.closest(".inline-player") || document).querySelectorAll(".captions-toggle").forEach(function (b) {
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  // An inline search player's captions toggle and speed, as the recording page has them.
  function playbackRow(id) {
    var row = document.createElement("div"), speeds = SPEEDS.map(function (s) {
      return "<option value=\"" + s + "\"" + (s === 1 ? " selected" : "") + ">" + s + "×</option>";
    });
    row.className = "controls-row playback"; row.setAttribute("role", "group"); row.setAttribute("aria-label", "Playback");
    row.innerHTML = "<button type=\"button\" class=\"captions-toggle\" aria-pressed=\"true\">Captions</button>" +
      "<label for=\"speed-" + id + "\">Speed</label><select id=\"speed-" + id + "\" class=\"speed\">" + speeds.join("") + "</select>";
    return row;
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

  // Captions and speed controls (those in ``scope``, else the page's), and unless ``noKeys``
  // (the editor, where keys type; the search page, with a player per recording) the keyboard
  // shortcuts listed behind "?".
  function playbackControls(media, noKeys, scope) {
    var toggle = (scope || document).querySelector(".captions-toggle"), speed = (scope || document).querySelector(".speed");
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
    if (noKeys) { return; }
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

  // The transcript editor's player: captions above an audio recording's controls, speed.
  function editorPlayer(media) {
    if (media.parentElement.classList.contains("audio")) { captionLine(media, media.parentElement); }
    playbackControls(media, true);
    // After a save (staff.js) the captions are the saved words: the track is loaded afresh.
    media.addEventListener("transcriptsaved", function () {
      var old = media.querySelector("track");
      if (!old) { return; }
      var fresh = old.cloneNode();
      fresh.src = old.src.split("?")[0] + "?saved=" + Date.now();
      old.remove(); media.appendChild(fresh);
      captionsOn(media, media.dataset.captions !== "off");
    });
  }

  // What the clip maker (clipmaker.js) and the moments playlist (moments.js) use.
  window.Recall = {
    seek: seek, copy: copy, clock: clock, reducedMotion: reducedMotion, spaceToPause: spaceToPause,
    captionLine: captionLine, captionsOn: captionsOn, playbackControls: playbackControls
  };

  if (document.querySelector("[data-playlist]")) { return; }  // moments.js plays it
  var editing = document.querySelector(".editor-frame #player");
  if (editing) { editorPlayer(editing); return; }
  var article = document.querySelector("article.recording, main.recording");
  if (article) { recordingPage(article); } else { searchPage(); }
})();
