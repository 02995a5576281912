// An upload page's script: files dropped or picked are offered one by one (the page refuses
// what passes its limits before any byte is sent), then sent in parts (three at a time) with a
// progress bar per file and overall. A part that fails (a dropped connection) is sent again, with growing
// pauses; a file interrupted by a closed tab or a lost network resumes when it is picked
// again on this page (the parts that arrived are kept by the server until the page ends).
"use strict";
(function () {
  const form = document.getElementById("upload");
  if (!form || !window.fetch || !window.XMLHttpRequest) return;
  const token = form.dataset.token;
  const base = "/s/" + token + "/uploads";
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  const queue = document.getElementById("queue");
  const overall = document.getElementById("overall");
  const overallBar = document.getElementById("overall-bar");
  const overallText = document.getElementById("overall-text");
  const hint = document.getElementById("drop-hint");
  const uploader = document.getElementById("uploader");
  hint.textContent = "Drop files here, or choose them.";
  const PARALLEL_FILES = 2;
  // Parts of one file sent at once (a lone large file uses the line better).
  const PARALLEL_PARTS = 3;
  const RETRIES = 8;
  let pending = [];
  let total = 0;
  let sent = 0;
  let running = 0;

  function human(n) {
    const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  function showOverall() {
    overall.hidden = false;
    overallBar.max = Math.max(total, 1);
    overallBar.value = sent;
    overallText.textContent = human(sent) + " of " + human(total) + " sent";
  }

  function memoryKey(file) {
    return "bucketshare-upload:" + token + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  function remember(file, id) {
    try { localStorage.setItem(memoryKey(file), id); } catch (e) { /* private mode */ }
  }
  function forget(file) {
    try { localStorage.removeItem(memoryKey(file)); } catch (e) { /* private mode */ }
  }
  function remembered(file) {
    try { return localStorage.getItem(memoryKey(file)); } catch (e) { return null; }
  }

  // What an answer that is not ours (a page's state: revoked, expired…) means.
  function stateMessage(status) {
    if (status === 410) return "This page no longer takes files (revoked, expired, or turned off).";
    if (status === 404) return "This page takes no files any more.";
    if (status === 401) return "This page asks for its password again: reload it.";
    if (status === 429 || status === 503) return "The server is busy; try again in a moment.";
    return "The upload failed (" + status + ").";
  }

  async function json(res) {
    try { return await res.json(); } catch (e) { return null; }
  }

  function row(file) {
    const li = document.createElement("li");
    const name = document.createElement("div");
    name.textContent = file.name + " (" + human(file.size) + ")";
    const bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    const text = document.createElement("div");
    text.className = "small";
    text.setAttribute("role", "status");
    text.textContent = "Waiting…";
    li.append(name, bar, text);
    queue.append(li);
    return { li, bar, text };
  }

  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

  // One part, by XMLHttpRequest (its upload progress); resolves with the status (0: no answer).
  function putPart(id, n, blob, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", base + "/" + encodeURIComponent(id) + "/" + n);
      xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
      xhr.onerror = () => resolve({ status: 0, body: "" });
      xhr.ontimeout = () => resolve({ status: 0, body: "" });
      xhr.send(blob);
    });
  }

  async function offer(file) {
    const res = await fetch(base, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: file.name,
        size: file.size,
        type: file.type || null,
        uploader: uploader ? uploader.value : null,
      }),
    });
    const body = await json(res);
    if (res.status === 201 && body) return { ok: true, upload: Object.assign(body, { arrived: [] }) };
    return { ok: false, message: body && body.error ? body.error : stateMessage(res.status) };
  }

  async function resume(file) {
    const id = remembered(file);
    if (!id) return null;
    const res = await fetch(base + "/" + encodeURIComponent(id));
    const body = await json(res);
    if (res.ok && body && body.size === file.size) return body;
    forget(file);
    return null;
  }

  async function send(file, ui) {
    let upload = await resume(file);
    if (upload) {
      ui.text.textContent = "Resuming…";
    } else {
      const offered = await offer(file);
      if (!offered.ok) {
        ui.text.textContent = offered.message;
        ui.li.className = "refused";
        total -= file.size;
        showOverall();
        return;
      }
      upload = offered.upload;
      remember(file, upload.id);
    }
    const arrived = new Set(upload.arrived);
    let done = 0;
    for (const n of arrived) {
      done += Math.min(upload.part_size, file.size - (n - 1) * upload.part_size);
    }
    sent += done;
    ui.bar.value = done;
    showOverall();
    // The parts still to send, PARALLEL_PARTS at a time; `inflight` holds what each part
    // being sent has sent so far, for the bars.
    const todo = [];
    for (let n = 1; n <= upload.parts; n++) if (!arrived.has(n)) todo.push(n);
    const inflight = new Map();
    let failure = null;
    const show = () => {
      let now = done;
      for (const loaded of inflight.values()) now += loaded;
      ui.bar.value = now;
      if (!failure) {
        ui.text.textContent = "Sending… " + Math.floor((100 * now) / Math.max(file.size, 1)) + "%";
      }
      showOverall();
    };
    const sendPart = async (n) => {
      const start = (n - 1) * upload.part_size;
      const blob = file.slice(start, Math.min(start + upload.part_size, file.size));
      for (let attempt = 1; ; attempt++) {
        let shown = 0;
        inflight.set(n, 0);
        const result = await putPart(upload.id, n, blob, (loaded) => {
          sent += loaded - shown;
          shown = loaded;
          inflight.set(n, loaded);
          show();
        });
        inflight.delete(n);
        if (result.status === 200) {
          sent += blob.size - shown;
          done += blob.size;
          show();
          return;
        }
        sent -= shown;
        show();
        let body = null;
        try { body = JSON.parse(result.body); } catch (e) { /* a page, not ours */ }
        const retriable = result.status === 0 || result.status >= 500 ||
          (body && body.code === "IncompletePart");
        if (failure) return;
        if (!retriable || attempt > RETRIES) {
          failure = body && body.error ? body.error :
            result.status === 0 ? "The connection dropped. Pick the file again to resume." :
            stateMessage(result.status);
          return;
        }
        const wait = Math.min(30000, 500 * 2 ** attempt);
        ui.text.textContent = "Connection lost; trying again in " + Math.round(wait / 1000) + " s…";
        await sleep(wait);
      }
    };
    const worker = async () => {
      while (!failure && todo.length) await sendPart(todo.shift());
    };
    await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
    if (failure) {
      ui.text.textContent = failure;
      ui.li.className = "refused";
      return;
    }
    ui.text.textContent = "Finishing…";
    const res = await fetch(base + "/" + encodeURIComponent(upload.id) + "/done", { method: "POST" });
    const body = await json(res);
    if (res.ok && body) {
      forget(file);
      ui.li.className = "done";
      ui.text.textContent = "Arrived as “" + body.name + "”.";
    } else {
      ui.li.className = "refused";
      ui.text.textContent = body && body.error ? body.error : stateMessage(res.status);
      if (res.status === 404) forget(file);
    }
  }

  function next() {
    while (running < PARALLEL_FILES && pending.length) {
      const [file, ui] = pending.shift();
      running++;
      send(file, ui)
        .catch(() => {
          ui.li.className = "refused";
          ui.text.textContent = "The connection dropped. Pick the file again to resume.";
        })
        .finally(() => {
          running--;
          if (!running && !pending.length) {
            overallText.textContent = human(sent) + " sent. Done.";
          }
          next();
        });
    }
  }

  function add(files) {
    if (uploader && !uploader.reportValidity()) return;
    for (const file of files) {
      total += file.size;
      pending.push([file, row(file)]);
    }
    showOverall();
    next();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    add(Array.from(input.files));
    input.value = "";
  });
  input.addEventListener("change", () => {
    if (uploader && !uploader.value && uploader.required) return;
    add(Array.from(input.files));
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) add(Array.from(e.dataTransfer.files));
  });
})();
