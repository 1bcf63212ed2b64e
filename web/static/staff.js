// Recall's staff pages: live Jobs table, chunked resumable uploads, transcript editor helpers.
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = csrfMeta ? csrfMeta.content : "";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function post(url) {
    return fetch(url, { method: "POST", headers: { "X-CSRFToken": CSRF }, credentials: "same-origin" });
  }
  window.RecallStaff = { el: el, clock: clock, post: post, csrf: CSRF };

  // -- Jobs ---------------------------------------------------------------------------------
  var table = document.getElementById("jobs");
  if (table) {
    var tbody = table.querySelector("tbody");
    var source = table.getAttribute("data-source");

    var row = function (j) {
      var pct = Math.floor(j.progress * 100) + "%";
      var statusCell = el("td", {}, [
        el("span", { "class": "status status-" + j.status.replace(" ", "-"), text: j.status }),
        j.stage && (j.status === "queued" || j.status === "processing") ? el("div", { "class": "meta", text: j.stage }) : null,
        j.error ? el("div", { "class": "reason", text: j.error }) : null,
        j.note ? el("div", { "class": "meta", text: j.note }) : null,
        j.coverage_note ? el("div", { "class": "reason coverage", text: j.coverage_note }) : null
      ]);
      var action = null;
      if (j.status === "failed" || j.status === "cancelled") { action = "retry"; }
      if (j.status === "queued" || j.status === "processing") { action = "cancel"; }
      var button = null;
      if (action) {
        button = el("button", { type: "button", "class": action === "cancel" ? "secondary" : "", text: action === "retry" ? "Retry" : "Cancel" });
        button.addEventListener("click", function () {
          button.disabled = true;
          post(source + "/" + encodeURIComponent(j.id) + "/" + action).then(refresh, refresh);
        });
      }
      var bar = el("progress", { max: "1", value: String(j.progress), "aria-label": "Progress of " + j.title, text: pct });
      var tr = el("tr", { "data-id": j.id, "data-status": j.status }, [
        el("td", {}, [el("a", { href: j.url, text: j.title }), el("div", { "class": "meta", text: j.source_name })]),
        statusCell,
        el("td", {}, [bar, document.createTextNode(" "), el("span", { "class": "pct", text: pct })]),
        el("td", { "class": "eta", text: j.eta_seconds === null ? "" : clock(j.eta_seconds) }),
        el("td", { "class": "actions" }, [button])
      ]);
      return tr;
    };

    var timer = null;
    var refresh = function () {
      clearTimeout(timer);
      fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) { throw new Error(r.status); }
          // The server says when no worker is alive: Warning: 199 recall "<notice>".
          var notice = document.getElementById("no-worker");
          var warning = r.headers.get("Warning") || "";
          var text = warning.replace(/^199 recall "(.*)"$/, "$1");
          if (notice) { notice.textContent = warning ? text : ""; notice.hidden = !warning; }
          return r.json();
        })
        .then(function (jobs) {
          var rows = jobs.map(row);
          if (!rows.length) {
            rows = [el("tr", { "class": "none" }, [el("td", { colspan: "5", text: "No jobs." })])];
          }
          tbody.replaceChildren.apply(tbody, rows);
          var busy = jobs.some(function (j) { return j.status === "queued" || j.status === "processing"; });
          timer = setTimeout(refresh, busy ? 1500 : 5000);
        })
        .catch(function () { timer = setTimeout(refresh, 5000); });
    };
    refresh();
  }

  // Forms that ask before doing something that cannot be undone.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });

  // -- Uploads (tus 1.0: POST to create, PATCH chunks, HEAD to resume) ---------------------
  var form = document.getElementById("upload-form");
  if (form) {
    var CHUNK = 8 * 1024 * 1024;
    var endpoint = form.getAttribute("data-endpoint");
    var list = document.getElementById("upload-files");
    var startButton = document.getElementById("start-upload");
    var summary = document.getElementById("upload-summary");
    var drop = document.getElementById("dropzone");
    var input = document.getElementById("files");
    var items = [];

    var b64 = function (text) { return btoa(unescape(encodeURIComponent(text))); };
    var list2 = function (text) { return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean).join(";"); };
    var size = function (bytes) {
      return bytes >= 1e9 ? (bytes / 1e9).toFixed(2) + " GB" : bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + " MB" : Math.ceil(bytes / 1e3) + " kB";
    };
    var keyOf = function (file) { return "recall-upload:" + file.name + ":" + file.size + ":" + file.lastModified; };

    var request = function (method, url, headers, body, onProgress, item) {
      return new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest();
        xhr.open(method, url);
        xhr.setRequestHeader("Tus-Resumable", "1.0.0");
        xhr.setRequestHeader("X-CSRFToken", CSRF);
        Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
        if (onProgress) { xhr.upload.onprogress = function (e) { onProgress(e.loaded); }; }
        xhr.onload = function () { resolve(xhr); };
        xhr.onerror = function () { reject(new Error("network")); };
        xhr.onabort = function () { reject(new Error("paused")); };
        xhr.send(body || null);
        if (item) { item.xhr = xhr; }
      });
    };

    var message = function (xhr) {
      try { return JSON.parse(xhr.responseText).message; } catch (e) { return "The server answered " + xhr.status + "."; }
    };

    var setState = function (item, text, kind) {
      item.state.textContent = text;
      item.state.className = "state" + (kind ? " " + kind : "");
    };

    var replaces = form.getAttribute("data-replaces");
    var metadata = function (item) {
      var fields = { filename: item.file.name };
      if (replaces) {
        fields.replaces = replaces;
      } else {
        fields.title = item.title.value.trim();
        ["event", "recorded_on", "description", "visibility"].forEach(function (name) { fields[name] = form.elements[name].value.trim(); });
        fields.speakers = list2(form.elements.speakers.value);
        fields.tags = list2(form.elements.tags.value);
      }
      return Object.keys(fields).filter(function (k) { return fields[k]; }).map(function (k) { return k + " " + b64(fields[k]); }).join(",");
    };

    var offsetOf = function (item) {
      var url = localStorage.getItem(keyOf(item.file));
      if (!url) { return Promise.resolve(null); }
      return request("HEAD", url, {}).then(function (xhr) {
        if (xhr.status !== 200) { localStorage.removeItem(keyOf(item.file)); return null; }
        item.url = url;
        return parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
      });
    };

    var create = function (item) {
      return request("POST", endpoint, { "Upload-Length": String(item.file.size), "Upload-Metadata": metadata(item) }).then(function (xhr) {
        if (xhr.status !== 201) { throw { fatal: message(xhr) }; }
        item.url = xhr.getResponseHeader("Location");
        localStorage.setItem(keyOf(item.file), item.url);
        return 0;
      });
    };

    var attach = function (item) {
      if (!item.captions || item.captionsSent) { return Promise.resolve(); }
      return item.captions.text().then(function (text) {
        var url = item.url + "/captions?name=" + encodeURIComponent(item.captions.name);
        return request("PUT", url, { "Content-Type": "text/plain; charset=utf-8" }, text);
      }).then(function (xhr) {
        if (xhr.status !== 200) { throw { fatal: message(xhr) }; }
        item.captionsSent = true;
      });
    };

    var finished = function (item, xhr) {
      localStorage.removeItem(keyOf(item.file));
      item.done = true;
      item.bar.value = item.file.size;
      var id = xhr.getResponseHeader("Recall-Recording");
      var duplicate = xhr.getResponseHeader("Recall-Duplicate") === "1";
      item.state.replaceChildren(
        document.createTextNode(duplicate ? "Already in the library — " : "Uploaded; processing — "),
        document.createTextNode(xhr.getResponseHeader("Recall-Note") ? decodeURIComponent(xhr.getResponseHeader("Recall-Note")) + " — " : ""),
        el("a", { href: form.getAttribute("data-jobs"), text: "see Jobs" }),
        document.createTextNode(" · "),
        el("a", { href: "/r/" + encodeURIComponent(id), text: "open" }));
      item.state.className = "state good";
      item.pause.hidden = true;
    };

    var send = function (item, offset) {
      if (item.paused) { throw new Error("paused"); }
      var end = Math.min(offset + CHUNK, item.file.size);
      return request("PATCH", item.url, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
        item.file.slice(offset, end), function (loaded) {
          item.bar.value = offset + loaded;
          setState(item, size(offset + loaded) + " of " + size(item.file.size) + " sent");
        }, item).then(function (xhr) {
        if (xhr.status === 204 && xhr.getResponseHeader("Recall-Recording")) { finished(item, xhr); return null; }
        if (xhr.status === 204) { return send(item, parseInt(xhr.getResponseHeader("Upload-Offset"), 10)); }
        if (xhr.status === 409 || xhr.status >= 500) { throw new Error("retry"); }
        throw { fatal: message(xhr) };
      });
    };

    var run = function (item, attempt) {
      item.paused = false;
      item.pause.textContent = "Pause";
      setState(item, attempt ? "Connection lost; resuming…" : "Starting…");
      return offsetOf(item)
        .then(function (offset) { return offset === null ? create(item) : offset; })
        .then(function (offset) { return attach(item).then(function () { return offset; }); })
        .then(function (offset) { return send(item, offset); })
        .catch(function (e) {
          if (e && e.fatal) {
            localStorage.removeItem(keyOf(item.file));
            item.failed = true;
            item.pause.hidden = true;
            setState(item, e.fatal, "bad");
            return;
          }
          if (item.paused) { setState(item, "Paused at " + size(item.bar.value)); return; }
          if (attempt >= 8) { setState(item, "Stopped: the server cannot be reached. Press Resume to try again.", "bad"); item.paused = true; item.pause.textContent = "Resume"; return; }
          return new Promise(function (r) { setTimeout(r, Math.min(30000, 1000 * Math.pow(2, attempt))); })
            .then(function () { return run(item, attempt + 1); });
        });
    };

    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    var extensions = (form.getAttribute("data-extensions") || "").split(" ");
    var check = function (file) {
      var dot = file.name.lastIndexOf(".");
      var ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
      if (extensions.indexOf(ext) < 0) { return file.name + " is not a recording Recall takes (video or audio files: " + extensions.join(" ") + ")."; }
      if (file.size === 0) { return file.name + " is empty."; }
      if (file.size > maxBytes) { return file.name + " is " + size(file.size) + ": larger than the limit of " + size(maxBytes) + "."; }
      return "";
    };

    var stem = function (name) { return name.replace(/\.[^.]+$/, "").toLowerCase(); };
    var isCaptions = function (file) { return /\.(vtt|srt)$/i.test(file.name); };

    var add = function (files) {
      files = Array.prototype.slice.call(files);
      var captionFiles = replaces ? [] : files.filter(isCaptions);
      files = files.filter(function (f) { return replaces || !isCaptions(f); });
      if (replaces) {  // one new file for one recording
        items.slice().forEach(function (i) { if (!i.started) { i.li.remove(); items.splice(items.indexOf(i), 1); } });
        files = files.slice(0, 1);
      }
      addMedia(files);
      captionFiles.forEach(function (file) {
        var match = items.filter(function (i) { return !i.started && stem(i.file.name) === stem(file.name); })[0];
        if (match) {
          match.captions = file;
          match.note.textContent = match.file.name + " · with captions " + file.name + " (used instead of transcribing)";
        } else {
          summary.textContent = file.name + ": add the recording with the same name (" + stem(file.name) + ".mp4, …) to use these captions.";
        }
      });
    };

    var addMedia = function (files) {
      files.forEach(function (file) {
        var title = el("input", { type: "text", "class": "title-input", value: file.name.replace(/\.[^.]+$/, "").replace(/[_\s]+/g, " ").trim(), "aria-label": "Title for " + file.name });
        if (replaces) { title.hidden = true; }
        var state = el("span", { "class": "state", text: size(file.size) + " · ready to upload" });
        var pause = el("button", { type: "button", "class": "secondary", text: "Pause", hidden: "" });
        var remove = el("button", { type: "button", "class": "secondary", text: "Remove" });
        var bar = el("progress", { max: String(file.size), value: "0", "aria-label": "Upload of " + file.name });
        var note = el("div", { "class": "meta", text: file.name });
        var li = el("li", { "class": "upload-file" }, [
          el("div", {}, [title, note]),
          el("div", { "class": "row-actions" }, [pause, remove]), bar, state]);
        var item = { file: file, title: title, state: state, bar: bar, pause: pause, li: li, note: note, started: false };
        pause.addEventListener("click", function () {
          if (item.paused) { run(item, 0); return; }
          item.paused = true;
          if (item.xhr) { item.xhr.abort(); }
        });
        remove.addEventListener("click", function () {
          item.paused = true;
          if (item.started && !item.done && item.url) {
            if (item.xhr) { item.xhr.abort(); }
            request("DELETE", item.url, {}).catch(function () {});
            localStorage.removeItem(keyOf(file));
          }
          items.splice(items.indexOf(item), 1);
          li.remove();
          update();
        });
        items.push(item);
        list.appendChild(li);
        var problem = check(file);
        if (problem) {  // said at once; the server checks the same again
          item.started = item.failed = true;
          title.readOnly = true;
          setState(item, problem, "bad");
        }
      });
      update();
    };

    var update = function () {
      var waiting = items.filter(function (i) { return !i.started; }).length;
      startButton.disabled = waiting === 0;
      startButton.textContent = waiting > 1 ? "Upload " + waiting + " files" : "Upload";
      summary.textContent = items.length ? "" : "No files chosen yet.";
    };

    input.addEventListener("change", function () { add(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) { e.preventDefault(); add(e.dataTransfer.files); });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var queue = items.filter(function (i) { return !i.started; });
      queue.forEach(function (i) { i.started = true; i.title.readOnly = true; i.pause.hidden = false; setState(i, "Waiting…"); });
      update();
      // One file at a time: the connection's whole bandwidth goes to the file nearest done.
      queue.reduce(function (chain, item) { return chain.then(function () { return run(item, 0); }); }, Promise.resolve())
        .then(function () {
          var ok = queue.filter(function (i) { return i.done; }).length;
          summary.textContent = ok + " of " + queue.length + " uploaded.";
        });
    });
    update();
  }

  // -- Transcript editor --------------------------------------------------------------------
  var editor = document.getElementById("editor");
  if (editor) {
    var data = JSON.parse(document.getElementById("transcript-data").textContent);
    var version = data.version;
    var duration = parseFloat(editor.getAttribute("data-duration"));
    var player = document.getElementById("player");
    var listEl = document.getElementById("cues");
    var saveButton = document.getElementById("save");
    var saveState = document.getElementById("save-state");
    var nowEl = document.getElementById("now");
    var renameFrom = document.getElementById("rename-from");
    var renameTo = document.getElementById("rename-to");
    var NUDGE = 0.1;
    var dirty = false;
    var cues = data.segments.map(function (s) {
      return { start: s.start, end: s.end, text: s.text, speaker: s.speaker || "", words: s.words || [], original: s.text };
    });

    var stamp = function (t) {
      var m = Math.floor(t / 60), rest = t - m * 60;
      return m + ":" + (rest < 10 ? "0" : "") + rest.toFixed(2);
    };
    var unstamp = function (text) {
      var parts = text.trim().split(":"), total = 0;
      if (!parts.length || parts.length > 3) { return NaN; }
      for (var i = 0; i < parts.length; i++) {
        if (!/^\d+(\.\d+)?$/.test(parts[i])) { return NaN; }
        total = total * 60 + parseFloat(parts[i]);
      }
      return total;
    };
    var round = function (t) { return Math.round(Math.max(0, Math.min(duration, t)) * 100) / 100; };

    var changed = function (message) {
      dirty = true;
      saveButton.disabled = false;
      saveState.textContent = message || "Unsaved changes";
      saveState.className = "meta";
    };

    var labels = function () {
      var seen = {};
      cues.forEach(function (c) { if (c.speaker) { seen[c.speaker] = true; } });
      var names = Object.keys(seen).sort();
      renameFrom.replaceChildren.apply(renameFrom, names.length ? names.map(function (n) { return el("option", { value: n, text: n }); })
        : [el("option", { value: "", text: "No speaker labels yet" })]);
    };

    var timeField = function (cue, which, label) {
      var input = el("input", { type: "text", inputmode: "decimal", value: stamp(cue[which]), "aria-label": label });
      input.addEventListener("change", function () {
        var t = unstamp(input.value);
        if (isNaN(t)) { input.value = stamp(cue[which]); return; }
        cue[which] = round(t);
        input.value = stamp(cue[which]);
        changed();
      });
      var nudge = function (by, text, name) {
        var b = el("button", { type: "button", "class": "secondary", text: text, "aria-label": name });
        b.addEventListener("click", function () { cue[which] = round(cue[which] + by); input.value = stamp(cue[which]); changed(); });
        return b;
      };
      // The visible word starts the accessible name (WCAG 2.5.3 label in name); the rest says
      // which time it sets, for screen readers.
      var here = el("button", { type: "button", "class": "secondary", title: "Set to the player's time" },
        [document.createTextNode("Now"), el("span", { "class": "visually-hidden", text: ": set " + label.toLowerCase() + " to the player's time" })]);
      here.addEventListener("click", function () {
        if (!player) { return; }
        cue[which] = round(player.currentTime);
        input.value = stamp(cue[which]);
        changed();
      });
      return el("span", { "class": "time-field" }, [nudge(-NUDGE, "−", label + " earlier"), input, nudge(NUDGE, "+", label + " later"), here]);
    };

    var splitAt = function (index, textarea) {
      var cue = cues[index];
      var at = textarea.selectionStart;
      var before = cue.text.slice(0, at).trim(), after = cue.text.slice(at).trim();
      if (!before || !after) { saveState.textContent = "Put the cursor where the cue should be split."; return; }
      // The new boundary is the start of the first word after the cursor, when its time is known.
      var count = before.split(/\s+/).length;
      var boundary = cue.words.length === cue.text.trim().split(/\s+/).length && cue.words[count]
        ? cue.words[count].start : cue.start + (cue.end - cue.start) * at / cue.text.length;
      boundary = round(Math.min(Math.max(boundary, cue.start + 0.01), cue.end - 0.01));
      var second = { start: boundary, end: cue.end, text: after, speaker: cue.speaker, words: cue.words.slice(count), original: "" };
      cue.end = boundary; cue.text = before; cue.words = cue.words.slice(0, count);
      cues.splice(index + 1, 0, second);
      render(index + 1);
      changed();
    };

    var merge = function (index) {
      var a = cues[index], b = cues[index + 1];
      if (!b) { return; }
      a.text = (a.text.trim() + " " + b.text.trim()).trim();
      a.end = Math.max(a.end, b.end);
      a.words = a.words.concat(b.words);
      cues.splice(index + 1, 1);
      render(index);
      changed();
    };

    // A cue's text area is as tall as its text, so a long sentence shows whole.
    var fit = function (area) {
      area.style.height = "auto";
      area.style.height = area.scrollHeight + area.offsetHeight - area.clientHeight + "px";
    };
    var fitAll = function () { listEl.querySelectorAll("textarea").forEach(fit); };
    var span = function (cue) { return stamp(cue.start) + "–" + stamp(cue.end); };

    var render = function (focusIndex) {
      var rows = cues.map(function (cue, index) {
        var n = index + 1;
        var text = el("textarea", { rows: "1", "aria-label": "Text of cue " + n });
        text.value = cue.text;
        text.addEventListener("input", function () { cue.text = text.value; li.classList.toggle("changed", cue.text !== cue.original); fit(text); changed(); });
        var speaker = el("input", { type: "text", "class": "speaker", list: "speaker-names", placeholder: "Speaker", value: cue.speaker, "aria-label": "Speaker of cue " + n });
        speaker.addEventListener("change", function () { cue.speaker = speaker.value.trim(); labels(); changed(); });
        var play = el("button", { type: "button", "class": "secondary", title: "Play this cue" },
          [el("span", { "aria-hidden": "true", text: "▶" }), el("span", { "class": "visually-hidden", text: "Play cue " + n })]);
        play.addEventListener("click", function () { if (player) { player.currentTime = cue.start; player.play().catch(function () {}); } });
        var split = el("button", { type: "button", "class": "secondary", text: "Split at cursor" });
        split.addEventListener("click", function () { splitAt(index, text); });
        var join = el("button", { type: "button", "class": "secondary", text: "Merge with next" });
        join.disabled = index === cues.length - 1;
        join.addEventListener("click", function () { merge(index); });
        var remove = el("button", { type: "button", "class": "secondary", text: "Delete" });
        remove.addEventListener("click", function () { cues.splice(index, 1); render(Math.min(index, cues.length - 1)); changed(); });
        // Times stay folded away until asked for: most corrections are to the words.
        var timesId = "cue-times-" + n;
        var times = el("div", { "class": "cue-times", id: timesId }, [timeField(cue, "start", "Start of cue " + n),
          el("span", { text: "to" }), timeField(cue, "end", "End of cue " + n)]);
        times.hidden = !cue.timesOpen;
        var shown = el("span", { "class": "span", text: span(cue) });
        var toggle = el("button", { type: "button", "class": "secondary times-toggle", "aria-expanded": String(!!cue.timesOpen), "aria-controls": timesId },
          [document.createTextNode("Times "), shown]);
        toggle.addEventListener("click", function () {
          cue.timesOpen = times.hidden;
          times.hidden = !cue.timesOpen;
          toggle.setAttribute("aria-expanded", String(cue.timesOpen));
        });
        times.addEventListener("click", function () { shown.textContent = span(cue); });
        times.addEventListener("change", function () { shown.textContent = span(cue); });
        var li = el("li", { "class": "cue-edit" + (cue.text !== cue.original ? " changed" : ""), "data-index": String(index) },
          [text, el("div", { "class": "cue-line" }, [play, toggle, speaker, el("span", { "class": "cue-tools" }, [split, join, remove])]), times]);
        if (window.RecallFlags) { window.RecallFlags.mark(li, cue); }
        return li;
      });
      listEl.replaceChildren.apply(listEl, rows);
      fitAll();
      if (window.RecallFlags) { window.RecallFlags.rendered(); }
      labels();
      if (focusIndex !== undefined && rows[focusIndex]) { rows[focusIndex].querySelector("textarea").focus(); }
    };
    var fitting = null;
    window.addEventListener("resize", function () { clearTimeout(fitting); fitting = setTimeout(fitAll, 100); });

    var save = function () {
      if (!dirty) { return; }
      saveButton.disabled = true;
      saveState.textContent = "Saving…";
      var body = { version: version, segments: cues.map(function (c) { return { start: c.start, end: c.end, text: c.text, speaker: c.speaker }; }) };
      fetch(editor.getAttribute("data-save"), {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF, Accept: "application/json" },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (json) { return { ok: r.ok, json: json }; });
      }).then(function (result) {
        if (!result.ok) { throw new Error(result.json.message || "The transcript was not saved."); }
        version = result.json.version;
        cues = result.json.segments.map(function (s) { return { start: s.start, end: s.end, text: s.text, speaker: s.speaker || "", words: s.words || [], original: s.text }; });
        dirty = false;
        render();
        saveState.textContent = "Saved. Captions, downloads and search are updated.";
        if (player) { player.dispatchEvent(new Event("transcriptsaved")); }  // player.js reloads captions
        saveState.className = "meta good";
      }).catch(function (e) {
        saveButton.disabled = false;
        saveState.textContent = e.message;
        saveState.className = "meta bad";
      });
    };

    saveButton.addEventListener("click", save);
    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); return; }
      // Play and pause without leaving the text: Ctrl+Space anywhere, Esc (as in most
      // transcription tools) in a cue's text. Neither types anything.
      var inText = e.target && e.target.tagName === "TEXTAREA";
      if (player && ((e.ctrlKey && (e.key === " " || e.code === "Space")) || (e.key === "Escape" && inText))) {
        e.preventDefault();
        if (player.paused) { player.play().catch(function () {}); } else { player.pause(); }
      }
    });
    window.addEventListener("beforeunload", function (e) { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
    document.getElementById("rename").addEventListener("click", function () {
      var from = renameFrom.value, to = renameTo.value.trim();
      if (!from || !to || from === to) { return; }
      var n = 0;
      cues.forEach(function (c) { if (c.speaker === from) { c.speaker = to; n++; } });
      renameTo.value = "";
      render();
      changed(n + " cue(s) now say " + to + ". Unsaved changes");
    });
    // Voiced stretches with no words (speech coverage): a click plays from there.
    document.querySelectorAll("[data-seek]").forEach(function (b) {
      b.addEventListener("click", function () {
        if (player) { player.currentTime = parseFloat(b.getAttribute("data-seek")); player.play().catch(function () {}); }
      });
    });
    // Find and replace: whole words, any case (as `recall replace`); the changes are saved by
    // Save like any other edit, so undo, captions and search follow.
    var findText = document.getElementById("find-text"), replaceText = document.getElementById("replace-text");
    var findState = document.getElementById("find-state");
    var WORD = "[\\p{L}\\p{N}_]";
    var wordsPattern = function (text) {
      var words = text.trim().split(/\s+/).filter(Boolean);
      if (!words.length) { return null; }
      var body = words.map(function (w) { return w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }).join("\\s+");
      var left = new RegExp("^" + WORD, "u").test(words[0]) ? "(?<!" + WORD + ")" : "";
      var right = new RegExp(WORD + "$", "u").test(words[words.length - 1]) ? "(?!" + WORD + ")" : "";
      return new RegExp(left + body + right, "giu");
    };
    var findAt = -1;
    document.getElementById("find-next").addEventListener("click", function () {
      var re = wordsPattern(findText.value);
      if (!re) { return; }
      var hits = [];
      cues.forEach(function (c, i) { re.lastIndex = 0; if (re.test(c.text)) { hits.push(i); } });
      if (!hits.length) { findState.textContent = "Not found."; return; }
      findAt = hits.filter(function (i) { return i > findAt; })[0];
      if (findAt === undefined) { findAt = hits[0]; }
      findState.textContent = hits.length + " cue(s) match; showing cue " + (findAt + 1) + ".";
      var row = listEl.children[findAt];
      row.scrollIntoView({ block: "center" });
      row.querySelector("textarea").focus();
    });
    document.getElementById("replace-all").addEventListener("click", function () {
      var re = wordsPattern(findText.value), to = replaceText.value.trim();
      if (!re) { return; }
      var n = 0;
      cues.forEach(function (c) {
        var text = c.text.replace(re, function () { return to; }).replace(/\s+/g, " ").trim();
        if (text !== c.text) { c.text = text; n++; }
      });
      findState.textContent = n ? "" : "Not found.";
      if (n) { render(); changed(n + " cue(s) changed. Unsaved changes"); }
    });
    if (player) {
      player.addEventListener("timeupdate", function () {
        var t = player.currentTime;
        nowEl.textContent = stamp(t);
        var rows = listEl.children;
        for (var i = 0; i < cues.length; i++) {
          rows[i].classList.toggle("current", t >= cues[i].start && t < cues[i].end);
        }
      });
    }
    render();
  }
})();
