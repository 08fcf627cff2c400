"use strict";
// The Fitroom playground. It talks to the server only through vendor dialects' public
// endpoints (FASHN's POST /v1/run for clothing, the glasses API for glasses) with the
// user's own key, so every request it makes is one a shop's code could make, and
// "Show as curl" prints exactly that request.
(() => {
  const KEY_STORAGE = "fitroom.playground.key";
  const MB = 1024 * 1024;
  // Photos beyond what every dialect takes (FASHN: 4096 px a side; glasses: 10 MB) are
  // scaled down here, where the user sees it said, rather than refused by the server.
  const LOAD_MAX_SIDE = 4096;
  const LOAD_MAX_BYTES = 10 * MB;
  // An id no job can have: a status request for it answers 404 to a valid key, 401 else.
  const PROBE_ID = "0".repeat(32);

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const form = $("#tryon");
  const keyInput = $("#key");
  const submitButton = $("#submit");
  // slot -> {dataUrl, width, height, bytes, id, label, example}
  const images = { person: null, garment: null, glasses: null };

  const value = (name) => form.elements[name].value;
  const checked = (name) => form.elements[name].checked;
  // A number as typed; anything else is sent as typed, so the server's own message
  // (which names the field) explains what is wrong with it.
  const number = (name) => {
    const text = form.elements[name].value.trim();
    return /^-?\d+$/.test(text) ? Number(text) : text;
  };
  const rawBase64 = (dataUrl) => dataUrl.slice(dataUrl.indexOf(",") + 1);

  // --- the two dialects the page speaks --------------------------------------------------

  const DIALECTS = {
    clothing: {
      api: "FASHN API",
      submitPath: "/v1/run",
      second: "garment",
      headers: (key) => ({ Authorization: `Bearer ${key}` }),
      curlAuth: '-H "Authorization: Bearer $FITROOM_KEY"',
      // The API's field names -> where the page shows their errors.
      fields: {
        model_image: "person", garment_image: "garment", product_image: "garment", image: "person",
        category: "category", garment_photo_type: "garment_photo_type", mode: "mode",
        num_samples: "num_samples", seed: "seed", output_format: "output_format",
        moderation_level: "moderation_level", segmentation_free: "segmentation_free",
        return_base64: "return_base64", model_name: "general",
      },
      body() {
        return {
          model_name: "tryon-v1.6",
          inputs: {
            model_image: images.person.dataUrl,
            garment_image: images.garment.dataUrl,
            category: value("category"),
            garment_photo_type: value("garment_photo_type"),
            mode: value("mode"),
            num_samples: number("num_samples"),
            seed: number("seed"),
            output_format: value("output_format"),
            moderation_level: value("moderation_level"),
            segmentation_free: checked("segmentation_free"),
            return_base64: checked("return_base64"),
          },
        };
      },
      badge: (body) => `Clothing · ${body.inputs.category}`,
      jobId: (json) => json && json.id,
      poll: (id) => ({ method: "GET", path: `/v1/status/${encodeURIComponent(id)}` }),
      curlPoll: (base, id) => `curl -sS '${base}/v1/status/${id}' \\\n  -H "Authorization: Bearer $FITROOM_KEY"`,
      status(json) {
        const phase = { starting: "queued", in_queue: "queued", processing: "running", completed: "done" }[json.status]
          || "failed";
        const error = json.error ? { name: json.error.name, message: json.error.message }
          : { name: json.status, message: `The job ended as ${json.status}.` };
        return { phase, outputs: json.output || [], error: phase === "failed" ? error : null, waiting: json.waiting };
      },
      // {"error": "BadRequest", "message": "..."}
      error: (status, json) => ({
        name: (json && json.error) || `HTTP ${status}`,
        message: (json && (json.message || json.error)) || `The server answered ${status}.`,
      }),
    },
    glasses: {
      api: "Glasses API",
      submitPath: "/glass-virtual-try-on/v1/api/glass-virtual-tryon",
      second: "glasses",
      headers: (key) => ({ "X-API-KEY": key }),
      curlAuth: '-H "X-API-KEY: $FITROOM_KEY"',
      fields: {
        model_image_path: "person", glass_image_path: "glasses", num_images: "num_images",
        output_format: "glasses_output_format",
      },
      body() {
        // The vendor documents raw base64, without the data: prefix; so the page sends that.
        const body = {
          model_image_path: rawBase64(images.person.dataUrl),
          num_images: number("num_images"),
          output_format: value("glasses_output_format"),
        };
        if (images.glasses) body.glass_image_path = rawBase64(images.glasses.dataUrl);
        return body;
      },
      badge: (body) => (body.glass_image_path ? "Glasses" : "Glasses · built-in pair"),
      jobId: (json) => json && json.request_id,
      poll: (id) => ({
        method: "POST",
        path: "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result",
        body: { request_id: id },
      }),
      curlPoll: (base, id) => `curl -sS -X POST '${base}/glass-virtual-try-on-polling/api/glass-virtual-tryon-result' \\\n`
        + `  -H "X-API-KEY: $FITROOM_KEY" -H 'Content-Type: application/json' \\\n  -d '{"request_id": "${id}"}'`,
      status(json) {
        const phase = { submitted: "queued", processing: "running", completed: "done" }[json.status] || "failed";
        return {
          phase,
          outputs: (json.images || []).map((image) => image.url),
          error: phase === "failed" ? { name: "Failed", message: json.error || "The job failed." } : null,
          waiting: json.waiting,
        };
      },
      // {"error": "Invalid request parameters", "detail": "...", "code": "..."}
      error: (status, json) => ({
        name: (json && json.error) || `HTTP ${status}`,
        message: (json && (json.detail || json.error)) || `The server answered ${status}.`,
      }),
    },
  };

  const currentDialect = () => form.elements.dialect.value;

  // --- errors next to their fields -------------------------------------------------------

  function fieldError(slot, message) {
    const target = $(`[data-error-for="${slot}"]`) || $('[data-error-for="general"]');
    target.textContent = message;
    const input = form.elements[slot];
    if (input && input.classList) input.classList.add("invalid");
    const box = $(`.slot[data-slot="${slot}"]`);
    if (box) box.classList.add("invalid-slot");
    if (slot === "key") keyInput.classList.add("invalid");
    const details = target.closest("details");
    if (details) details.open = true; // an error on a folded option must be seen
  }

  function clearErrors(slot) {
    const selector = slot ? `[data-error-for="${slot}"]` : "[data-error-for]";
    $$(selector).forEach((el) => { el.textContent = ""; });
    (slot ? $$(`[name="${slot}"], .slot[data-slot="${slot}"]`) : $$(".invalid, .invalid-slot")).forEach((el) => {
      el.classList.remove("invalid", "invalid-slot");
    });
    if (!slot || slot === "key") keyInput.classList.remove("invalid");
  }

  // Which field an API error concerns. Validation messages name it ("Invalid value for
  // inputs.category: ...", "Missing required parameter: inputs.model_image", image errors
  // "model_image (the person photo): ..."); key and credit errors concern the key.
  function fieldOf(dialectKey, status, error) {
    if (status === 401 || status === 403 || error.name === "OutOfCredits") return "key";
    const fields = DIALECTS[dialectKey].fields;
    const text = error.message || "";
    const qualified = /\binputs\.([a-z_]+)/.exec(text);
    if (qualified && fields[qualified[1]]) return fields[qualified[1]];
    // Unqualified names (the glasses API's) all have an underscore, unlike English words.
    for (const match of text.matchAll(/\b([a-z][a-z0-9]*_[a-z0-9_]*)\b/g)) {
      if (fields[match[1]]) return fields[match[1]];
    }
    return "general";
  }

  // Which input a failed job's message is about: the engines say "the person image",
  // "the garment image" or "the glasses image".
  function inputOfFailure(message) {
    if (/glasses (image|photo)/i.test(message)) return "glasses";
    if (/garment (image|photo)/i.test(message)) return "garment";
    if (/person (image|photo)|face|shoulders|hips|knees/i.test(message)) return "person";
    return null;
  }

  function showApiError(dialectKey, status, json) {
    const error = DIALECTS[dialectKey].error(status, json);
    const slot = fieldOf(dialectKey, status, error);
    let message = error.message;
    if (status === 429 && !/retry/i.test(message)) message += " Try again in a moment.";
    if (slot === "general" && error.name && error.name !== message) message = `${error.name}: ${message}`;
    fieldError(slot, message);
  }

  // --- the key ----------------------------------------------------------------------------

  function storedKey() {
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
  }

  function storeKey(key) {
    try {
      if (key) localStorage.setItem(KEY_STORAGE, key); else localStorage.removeItem(KEY_STORAGE);
    } catch { /* storage disabled: the key lives in the field for this visit */ }
  }

  async function checkKey() {
    const key = keyInput.value.trim();
    const status = $("#key-status");
    clearErrors("key");
    storeKey(key);
    status.classList.remove("ok");
    if (!key) { status.textContent = "Kept in this browser's local storage only."; return; }
    try {
      const res = await fetch(`/v1/status/${PROBE_ID}`, { headers: DIALECTS.clothing.headers(key) });
      if (res.status === 401) {
        const json = await res.json().catch(() => null);
        fieldError("key", DIALECTS.clothing.error(res.status, json).message);
        status.textContent = "";
        return;
      }
      if (res.status === 404) {
        status.textContent = "Key accepted; saved in this browser.";
        status.classList.add("ok");
        return;
      }
    } catch { /* offline: the try-on will say so */ }
    status.textContent = "Saved in this browser.";
  }

  // --- photos -----------------------------------------------------------------------------

  function hash(text) {
    // FNV-1a over a sample of the data URI: enough to tell photos apart for grouping.
    let h = 0x811c9dc5;
    const step = Math.max(1, Math.floor(text.length / 65536));
    for (let i = 0; i < text.length; i += step) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return `${(h >>> 0).toString(16)}-${text.length}`;
  }

  const readAsDataUrl = (blob) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });

  const decode = (src) => new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("undecodable"));
    img.src = src;
  });

  const sizeOf = (dataUrl) => Math.floor(rawBase64(dataUrl).length * 3 / 4);

  async function setImage(slot, dataUrl, meta) {
    clearErrors(slot);
    const note = $(`.slot[data-slot="${slot}"] .hint`);
    if (note) note.remove();
    let img;
    try {
      img = await decode(dataUrl);
    } catch {
      fieldError(slot, "This browser cannot read that image. Use a JPEG or PNG photo.");
      return;
    }
    let width = img.naturalWidth;
    let height = img.naturalHeight;
    const type = dataUrl.slice(5, dataUrl.indexOf(";"));
    const plain = type === "image/jpeg" || type === "image/png";
    const largest = Math.max(width, height);
    let said = "";
    if (!plain || largest > LOAD_MAX_SIDE || sizeOf(dataUrl) > LOAD_MAX_BYTES) {
      const scale = Math.min(1, LOAD_MAX_SIDE / largest);
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      // PNG keeps transparency (glasses need it), unless that is still too big.
      let encoded = type === "image/jpeg" ? canvas.toDataURL("image/jpeg", 0.92) : canvas.toDataURL("image/png");
      if (sizeOf(encoded) > LOAD_MAX_BYTES) encoded = canvas.toDataURL("image/jpeg", 0.9);
      said = scale < 1
        ? `Scaled down from ${width}×${height} to ${canvas.width}×${canvas.height}: the API takes at most ${LOAD_MAX_SIDE} px a side.`
        : `Converted to ${encoded.startsWith("data:image/png") ? "PNG" : "JPEG"}: the API takes JPEG or PNG.`;
      dataUrl = encoded;
      width = canvas.width;
      height = canvas.height;
    }
    images[slot] = { dataUrl, width, height, bytes: sizeOf(dataUrl), id: hash(dataUrl), ...meta };
    const box = $(`.slot[data-slot="${slot}"]`);
    const preview = $(".preview", box);
    preview.src = dataUrl;
    preview.hidden = false;
    preview.alt = meta.label || "";
    $(".drop", box).classList.add("filled");
    $$(".examples button", box).forEach((b) => b.classList.toggle("chosen", b.dataset.name === meta.example));
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = said || `${meta.label ? `${meta.label} · ` : ""}${width}×${height}, ${formatBytes(images[slot].bytes)}`;
    $(".examples", box).after(hint);
  }

  async function loadFile(slot, file) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) {
      fieldError(slot, `${file.name || "That file"} is not an image.`);
      return;
    }
    try {
      await setImage(slot, await readAsDataUrl(file), { label: file.name, example: null });
    } catch (err) {
      fieldError(slot, `Could not read ${file.name || "the file"}: ${err.message}`);
    }
  }

  function clearImage(slot) {
    images[slot] = null;
    const box = $(`.slot[data-slot="${slot}"]`);
    const preview = $(".preview", box);
    preview.hidden = true;
    preview.removeAttribute("src");
    $(".drop", box).classList.remove("filled");
    $$(".examples button", box).forEach((b) => b.classList.remove("chosen"));
    const note = $(".hint", box);
    if (note) note.remove();
    $("input[type=file]", box).value = "";
    clearErrors(slot);
  }

  let activeSlot = null; // where a pasted image goes: the drop zone last pointed at

  function wireDropZones() {
    for (const box of $$(".slot")) {
      const slot = box.dataset.slot;
      const drop = $(".drop", box);
      const input = $("input[type=file]", box);
      input.addEventListener("change", () => loadFile(slot, input.files[0]));
      drop.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
      });
      for (const type of ["dragenter", "dragover"]) {
        drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
      }
      drop.addEventListener("dragleave", () => drop.classList.remove("over"));
      drop.addEventListener("drop", (e) => {
        e.preventDefault();
        drop.classList.remove("over");
        const file = e.dataTransfer.files[0];
        if (file) loadFile(slot, file); else fieldError(slot, "Drop an image file (from your computer).");
      });
      for (const type of ["pointerenter", "focusin"]) box.addEventListener(type, () => { activeSlot = slot; });
    }
    document.addEventListener("paste", (e) => {
      if (e.target === keyInput || e.target.matches("input[type=number], input[type=text]")) return;
      const item = Array.from(e.clipboardData ? e.clipboardData.items : []).find((i) => i.type.startsWith("image/"));
      if (!item) return;
      e.preventDefault();
      const second = DIALECTS[currentDialect()].second;
      const slot = activeSlot && !$(`.slot[data-slot="${activeSlot}"]`).hidden ? activeSlot
        : (images.person ? second : "person");
      loadFile(slot, item.getAsFile());
    });
    $("#glasses-clear").addEventListener("click", () => clearImage("glasses"));
  }

  async function loadExamples() {
    let list = [];
    try { list = await (await fetch("/playground/examples")).json(); } catch { return; }
    for (const example of list) {
      const holder = $(`.examples[data-role="${example.role}"]`);
      if (!holder) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.name = example.name;
      button.title = `${example.label}: ${example.note}`;
      button.setAttribute("aria-label", `Example: ${example.label}`);
      const thumb = document.createElement("img");
      thumb.src = example.url;
      thumb.alt = "";
      button.append(thumb);
      button.addEventListener("click", async () => {
        try {
          const blob = await (await fetch(example.url)).blob();
          await setImage(example.role, await readAsDataUrl(blob), { label: example.label, example: example.name });
        } catch (err) {
          fieldError(example.role, `Could not load the example: ${err.message}`);
        }
      });
      holder.append(button);
    }
  }

  // --- jobs and their cards ------------------------------------------------------------------

  const groups = new Map(); // person photo id -> its row of cards
  let pollSlot = 0;

  // Polls from every card share one pace, so several jobs at once stay well inside the
  // key's poll limit (50 per 10 s by default).
  async function pollGate() {
    const now = performance.now();
    const at = Math.max(now, pollSlot);
    pollSlot = at + 150;
    if (at > now) await sleep(at - now);
  }

  const formatSeconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  const formatBytes = (n) => (n >= MB ? `${(n / MB).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);

  function groupFor(person) {
    let group = groups.get(person.id);
    if (!group) {
      group = $("#group-template").content.firstElementChild.cloneNode(true);
      $(".person-thumb", group).src = person.dataUrl;
      $("h3", group).textContent = person.label ? `Same person · ${person.label}` : "Same person";
      groups.set(person.id, group);
    }
    $("#results-empty").hidden = true;
    $("#results").prepend(group); // the row just used comes first
    return group;
  }

  class Job {
    constructor(dialectKey, key, bodyText, body, person, second, startedAt) {
      this.dialectKey = dialectKey;
      this.dialect = DIALECTS[dialectKey];
      this.key = key;
      this.bodyText = bodyText;
      this.person = person;
      this.startedAt = startedAt; // when the request left: the upload counts as queueing
      this.phaseAt = { queued: startedAt };
      this.final = false;
      const group = groupFor(person);
      this.card = $("#card-template").content.firstElementChild.cloneNode(true);
      this.card.dataset.state = "queued";
      $(".badge", this.card).textContent = this.dialect.badge(body);
      $(".in-person", this.card).src = person.dataUrl;
      const secondFigure = $(".second", this.card);
      $("figcaption", secondFigure).textContent = dialectKey === "clothing" ? "Garment" : "Glasses";
      if (second) $(".in-second", this.card).src = second.dataUrl;
      else $("figcaption", secondFigure).textContent = "Built-in pair";
      $(".card-curl", this.card).addEventListener("click", () => showCurl(this.dialectKey, this.bodyText, this.id));
      $(".compare input", this.card).addEventListener("input", (e) => this.slide(e.target.value));
      const cards = $(".cards", group);
      cards.prepend(this.card);
      cards.scrollLeft = 0;
      const count = $$(".card", cards).length;
      $(".count", group).textContent = count > 1 ? `${count} try-ons, side by side` : "";
      this.timer = setInterval(() => this.tick(), 100);
      this.enter("queued");
    }

    tick() {
      $(".elapsed", this.card).textContent = formatSeconds(performance.now() - this.startedAt);
    }

    enter(phase) {
      const order = ["queued", "running", "done"];
      const index = order.indexOf(phase);
      // Only what a poll saw gets a time: a job can pass a step between two polls.
      if (!(phase in this.phaseAt)) this.phaseAt[phase] = performance.now();
      $$(".steps li", this.card).forEach((li, i) => {
        li.classList.toggle("passed", i < index);
        li.classList.toggle("current", i === index);
        const from = this.phaseAt[li.dataset.phase];
        const to = this.phaseAt[order[i + 1]];
        const label = li.dataset.phase[0].toUpperCase() + li.dataset.phase.slice(1);
        li.textContent = i < index && from !== undefined && to !== undefined ? `${label} ${formatSeconds(to - from)}` : label;
      });
      this.card.dataset.state = phase;
    }

    note(text) {
      $(".pending .note", this.card).textContent = text || "";
    }

    start(id) {
      this.id = id;
      const code = $(".job-id", this.card);
      code.textContent = id;
      code.title = `Job ${id}`;
      this.track();
    }

    async track() {
      let polls = 0;
      while (!this.final) {
        // Quick at first, so a CPU try-on of a second or less shows each step; then calmer.
        await sleep(polls < 8 ? 250 : polls < 40 ? 600 : 1500);
        polls += 1;
        await pollGate();
        const poll = this.dialect.poll(this.id);
        let res;
        let json;
        try {
          res = await fetch(poll.path, {
            method: poll.method,
            headers: { ...(poll.body ? { "Content-Type": "application/json" } : {}), ...this.dialect.headers(this.key) },
            body: poll.body ? JSON.stringify(poll.body) : undefined,
          });
          json = await res.json().catch(() => null);
        } catch (err) {
          this.note(`Lost the server (${err.message}); trying again…`);
          await sleep(2000);
          continue;
        }
        if (res.status === 429) {
          const wait = Number(res.headers.get("Retry-After")) || 2;
          this.note(`Polling faster than this key may; waiting ${wait} s.`);
          await sleep(wait * 1000);
          continue;
        }
        if (!res.ok) {
          this.fail(this.dialect.error(res.status, json));
          return;
        }
        this.update(this.dialect.status(json));
      }
    }

    update(status) {
      if (status.phase === "failed") { this.fail(status.error); return; }
      this.enter(status.phase);
      this.note(status.waiting || (status.phase === "queued" ? "Waiting for a worker…" : "Trying on…"));
      if (status.phase === "done") this.done(status.outputs);
    }

    finish() {
      this.final = true;
      clearInterval(this.timer);
      this.tick();
      $(".pending", this.card).hidden = true;
    }

    done(outputs) {
      this.finish();
      const total = formatSeconds(performance.now() - this.startedAt);
      $(".elapsed", this.card).textContent = `done in ${total}`;
      const compare = $(".compare", this.card);
      $(".before", compare).src = this.person.dataUrl;
      compare.hidden = false;
      this.show(outputs[0], 0);
      if (outputs.length > 1) {
        const samples = $(".samples", this.card);
        outputs.forEach((url, i) => {
          const button = document.createElement("button");
          button.type = "button";
          button.title = `Sample ${i + 1}`;
          const thumb = document.createElement("img");
          thumb.src = url;
          thumb.alt = `Sample ${i + 1}`;
          button.append(thumb);
          button.addEventListener("click", () => this.show(url, i));
          samples.append(button);
        });
        samples.firstElementChild.classList.add("chosen");
      }
    }

    show(url, index) {
      $(".after", this.card).src = url;
      $$(".samples button", this.card).forEach((b, i) => b.classList.toggle("chosen", i === index));
      const link = $(".download", this.card);
      const extension = /^data:image\/(\w+)/.exec(url)?.[1] || /\.(\w+)(\?|$)/.exec(new URL(url, location.href).pathname)?.[1]
        || "png";
      link.href = url;
      link.download = `fitroom-${this.id}-${index + 1}.${extension === "jpeg" ? "jpg" : extension}`;
      link.hidden = false;
    }

    slide(percent) {
      $(".after-wrap", this.card).style.setProperty("clip-path", `inset(0 0 0 ${percent}%)`);
      $(".handle", this.card).style.setProperty("left", `${percent}%`);
    }

    fail(error) {
      this.finish();
      this.card.dataset.state = "failed";
      $(".elapsed", this.card).textContent = `failed after ${formatSeconds(performance.now() - this.startedAt)}`;
      const box = $(".failure", this.card);
      $(".failure-name", box).textContent = error.name || "Failed";
      $(".failure-message", box).textContent = error.message || "";
      box.hidden = false;
      const slot = inputOfFailure(error.message || "");
      if (slot && !$(`.slot[data-slot="${slot}"]`).hidden) fieldError(slot, `The last try-on failed: ${error.message}`);
    }
  }

  // --- submitting -------------------------------------------------------------------------------

  // The body the form describes now, or null (with the errors shown) if it is incomplete.
  function currentRequest() {
    clearErrors();
    const dialectKey = currentDialect();
    const dialect = DIALECTS[dialectKey];
    const key = keyInput.value.trim();
    let complete = true;
    if (!key) {
      fieldError("key", "Paste your API key first: fitroom serve printed one (export FITROOM_KEY=…).");
      complete = false;
    }
    if (!images.person) {
      fieldError("person", "Choose a person photo, or pick the example below.");
      complete = false;
    }
    if (dialectKey === "clothing" && !images.garment) {
      fieldError("garment", "Choose a garment photo, or pick an example below.");
      complete = false;
    }
    if (!complete) return null;
    const body = dialect.body();
    return { dialectKey, dialect, key, body, bodyText: JSON.stringify(body) };
  }

  async function submit() {
    const request = currentRequest();
    if (!request) return;
    const { dialectKey, dialect, key, body, bodyText } = request;
    storeKey(key);
    submitButton.disabled = true;
    submitButton.textContent = "Sending…";
    const startedAt = performance.now();
    let res;
    let json;
    try {
      res = await fetch(dialect.submitPath, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...dialect.headers(key) },
        body: bodyText,
      });
      json = await res.json().catch(() => null);
    } catch (err) {
      fieldError("general", `Could not reach the server: ${err.message}`);
      return;
    } finally {
      submitButton.disabled = false;
      submitButton.textContent = "Try on";
    }
    if (!res.ok) {
      showApiError(dialectKey, res.status, json);
      return;
    }
    const second = images[dialect.second];
    const job = new Job(dialectKey, key, bodyText, body, images.person, second, startedAt);
    job.start(dialect.jobId(json));
  }

  // --- show as curl ------------------------------------------------------------------------------

  let bodyUrl = null;

  // The body as it is sent, with each inlined photo cut short so that it can be read.
  function readable(bodyText) {
    return JSON.stringify(JSON.parse(bodyText), (_, v) => (
      typeof v === "string" && v.length > 120 ? `${v.slice(0, 60)}… (${formatBytes(v.length)} in all)` : v
    ), 2);
  }

  function showCurl(dialectKey, bodyText, jobId) {
    const dialect = DIALECTS[dialectKey];
    const base = location.origin;
    $("#curl-command").textContent = [
      `curl -sS -X POST '${base}${dialect.submitPath}' \\`,
      `  ${dialect.curlAuth} \\`,
      "  -H 'Content-Type: application/json' \\",
      "  -d @body.json",
      "",
      `# then poll with the id it answers${jobId ? ` (this one was ${jobId})` : ""}:`,
      dialect.curlPoll(base, jobId || "ID"),
    ].join("\n");
    if (bodyUrl) URL.revokeObjectURL(bodyUrl);
    bodyUrl = URL.createObjectURL(new Blob([bodyText], { type: "application/json" }));
    $("#curl-body").href = bodyUrl;
    $("#curl-size").textContent = `(${formatBytes(new Blob([bodyText]).size)}, photos shortened here)`;
    $("#curl-preview").textContent = readable(bodyText);
    $("#curl-copy").textContent = "Copy command";
    $("#curl-dialog").showModal();
  }

  async function copyCommand() {
    const text = $("#curl-command").textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard API outside secure contexts (http to another host): select instead.
      const range = document.createRange();
      range.selectNodeContents($("#curl-command"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      document.execCommand("copy");
    }
    $("#curl-copy").textContent = "Copied";
  }

  // --- wiring -------------------------------------------------------------------------------------

  function showDialect() {
    const dialectKey = currentDialect();
    $$("[data-dialect]").forEach((el) => { el.hidden = el.dataset.dialect !== dialectKey; });
    clearErrors();
  }

  keyInput.value = storedKey();
  if (keyInput.value) $("#key-status").textContent = "Saved in this browser.";
  keyInput.addEventListener("change", checkKey);
  $("#key-show").addEventListener("click", (e) => {
    const shown = keyInput.type === "text";
    keyInput.type = shown ? "password" : "text";
    e.target.textContent = shown ? "Show" : "Hide";
    e.target.setAttribute("aria-pressed", String(!shown));
  });
  $("#key-forget").addEventListener("click", () => { keyInput.value = ""; checkKey(); });
  $$('input[name="dialect"]').forEach((radio) => radio.addEventListener("change", showDialect));
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  form.addEventListener("input", (e) => { if (e.target.name) clearErrors(e.target.name); });
  $("#show-curl").addEventListener("click", () => {
    const request = currentRequest();
    if (request) showCurl(request.dialectKey, request.bodyText, null);
  });
  $("#curl-copy").addEventListener("click", copyCommand);
  wireDropZones();
  showDialect();
  loadExamples();
})();
