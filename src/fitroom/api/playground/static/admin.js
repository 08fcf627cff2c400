"use strict";
// The operator view: reads /admin/api/overview with the admin token and renders it.
// Every value goes in through textContent, never as HTML: key names and error messages
// come from users.
(() => {
  const TOKEN_STORAGE = "fitroom.admin.token";
  const REFRESH_MS = 5000;
  const $ = (selector, root = document) => root.querySelector(selector);

  let timer = null;

  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_STORAGE) || ""; } catch { return ""; }
  }

  function storeToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_STORAGE, token); else sessionStorage.removeItem(TOKEN_STORAGE);
    } catch { /* storage disabled: the token lives for this page only */ }
  }

  let token = storedToken();

  function showError(where, message) {
    $(`[data-error-for="${where}"]`).textContent = message;
  }

  const when = (iso) => {
    if (!iso) return "";
    const date = new Date(iso);
    const seconds = Math.round((Date.now() - date.getTime()) / 1000);
    const ago = seconds < 60 ? `${seconds} s ago` : seconds < 3600 ? `${Math.round(seconds / 60)} min ago`
      : seconds < 86400 ? `${Math.round(seconds / 3600)} h ago` : `${Math.round(seconds / 86400)} d ago`;
    return ago;
  };
  const seconds = (value) => (value === null || value === undefined ? "" : `${value.toFixed(value < 10 ? 2 : 1)} s`);

  // A table row; each cell is text, or [text, className, title].
  function row(cells) {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      const [text, className, title] = Array.isArray(cell) ? cell : [cell];
      td.textContent = text === null || text === undefined ? "" : String(text);
      if (className) td.className = className;
      if (title) td.title = title;
      tr.append(td);
    }
    return tr;
  }

  function fill(tableId, rows, empty) {
    const body = $(`#${tableId} tbody`);
    body.replaceChildren(...rows);
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = $(`#${tableId} thead tr`).children.length;
      td.className = "hint";
      td.textContent = empty;
      tr.append(td);
      body.append(tr);
    }
  }

  function stateCell(state) {
    const span = document.createElement("span");
    span.className = `state ${state}`;
    span.textContent = state;
    return span;
  }

  function render(data) {
    const stats = $("#stats");
    stats.replaceChildren();
    const queued = data.queues.reduce((n, q) => n + q.queued, 0);
    const running = data.queues.reduce((n, q) => n + q.running, 0);
    const items = [
      ["Keys", data.keys.filter((k) => !k.revoked_at).length],
      ["Queued", queued],
      ["Running", running],
      ["Succeeded", data.counts.succeeded || 0],
      ["Failed", (data.counts.failed || 0) + (data.counts.timed_out || 0)],
      ["Lanes", data.lanes.length],
    ];
    for (const [label, n] of items) {
      const box = document.createElement("div");
      box.className = "stat";
      const b = document.createElement("b");
      b.textContent = String(n);
      const span = document.createElement("span");
      span.textContent = label;
      box.append(b, span);
      stats.append(box);
    }

    fill("queues", data.queues.map((q) => row([q.engine, [q.queued, "num"], [q.running, "num"], [q.processes, "num"]])),
      "No engine has jobs or a running lane.");
    fill("lanes", data.lanes.map((l) => row([
      l.engine, l.devices.join(", "), [l.worker_id, "", l.worker_id], `${l.host} · ${l.pid}`,
      [when(l.started_at), "", l.started_at], [when(l.heartbeat_at), "", l.heartbeat_at],
    ])), "No running lane: jobs wait until a worker starts (fitroom worker).");
    fill("keys", data.keys.map((k) => {
      const tr = row([
        k.name, k.id, [k.credits === null ? "unlimited" : k.credits, "num"], [k.jobs, "num"], [k.credits_spent, "num"],
        [when(k.created_at), "", k.created_at], [k.revoked_at ? when(k.revoked_at) : "", "", k.revoked_at],
      ]);
      if (k.revoked_at) tr.classList.add("revoked");
      tr.dataset.key = k.id;
      return tr;
    }), "No keys yet: fitroom keys create --name NAME");
    $("#retention").textContent = `Jobs and credits spent count the jobs still kept (${data.retention_hours} h retention).`;
    fill("jobs", data.jobs.map((j) => {
      const tr = row([
        [when(j.created_at), "", j.created_at], [j.id.slice(0, 12), "", j.id], j.key_name || j.key_id, j.dialect, j.kind,
        j.engine, "", [seconds(j.queued_seconds), "num"], [seconds(j.run_seconds), "num"],
        [j.refunded ? `${j.cost} (refunded)` : j.cost, "num"],
        [j.error_code || "", "wrap", j.error_message || ""],
      ]);
      tr.children[6].append(stateCell(j.state));
      return tr;
    }), "No jobs yet. Try one in the playground.");
    $("#updated").textContent = `Updated ${new Date(data.generated_at).toLocaleTimeString()}`;
  }

  async function load() {
    let res;
    let json;
    try {
      res = await fetch("/admin/api/overview", { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
      json = await res.json().catch(() => null);
    } catch (err) {
      showError("overview", `Could not reach the server: ${err.message}`);
      return;
    }
    const message = (json && json.message) || `The server answered ${res.status}.`;
    if (res.status === 401) {
      stop();
      storeToken("");
      $("#overview").hidden = true;
      $("#login").hidden = false;
      showError("token", message);
      $("#token").classList.add("invalid");
      return;
    }
    if (!res.ok) {
      // Before the first overview, the token form is what the operator is looking at.
      showError($("#overview").hidden ? "token" : "overview", message);
      return;
    }
    showError("overview", "");
    $("#login").hidden = true;
    $("#overview").hidden = false;
    render(json);
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function schedule() {
    stop();
    if ($("#auto").checked) timer = setInterval(load, REFRESH_MS);
  }

  async function open() {
    showError("token", "");
    $("#token").classList.remove("invalid");
    await load();
    if (!$("#overview").hidden) schedule();
  }

  $("#login").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("#token").value.trim();
    if (!token) {
      showError("token", "Enter the token the server was started with (FITROOM_ADMIN_TOKEN).");
      return;
    }
    storeToken(token);
    open();
  });
  $("#auto").addEventListener("change", schedule);
  $("#refresh").addEventListener("click", load);
  $("#logout").addEventListener("click", () => {
    stop();
    token = "";
    storeToken("");
    $("#token").value = "";
    $("#overview").hidden = true;
    $("#login").hidden = false;
  });
  if (token) open();
})();
