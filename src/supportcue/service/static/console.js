// The agent console's case view: fetch a suggestion, let the agent insert or dismiss it, send, and
// report each step to POST /v1/events. Every event has a fresh idempotency key; a network failure is
// retried with the same key, so the server stores it once. Every POST carries the page's CSRF token;
// the server records the logged-in agent as the events' agent.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("case-data").textContent);
  const titles = JSON.parse(document.getElementById("answer-titles").textContent);
  const box = document.getElementById("suggestion");
  const reply = document.getElementById("reply");
  const sendButton = document.getElementById("send");
  const statusLine = document.getElementById("status");
  const openedAt = performance.now();
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? { "x-csrf-token": csrfMeta.content } : {};
  let suggestion = null; // the live suggestion shown, if any
  let suggestionId = null; // the stored suggestion (shown or not), so `sent` pairs with it
  let sent = false;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const say = (text) => { statusLine.textContent = text; };

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // non-secure contexts lack randomUUID
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // Post one event; retry network errors and 5xx with the same key (backoff up to ~30 s in all).
  async function postEvent(fields) {
    const body = JSON.stringify({
      idempotency_key: newKey(), case_id: data.case_id, suggestion_id: suggestionId, ...fields,
    });
    let delay = 250;
    for (let attempt = 0; attempt < 9; attempt++) {
      try {
        const r = await fetch("/v1/events", {
          method: "POST", headers: { "content-type": "application/json", ...csrf }, body, keepalive: true,
        });
        if (r.ok) return true;
        if (r.status === 401) { loggedOut(); return false; }
        if (r.status < 500 && r.status !== 429) {
          const detail = await r.json().catch(() => ({}));
          say(`Could not record "${fields.kind}": ${detail.detail || r.status}`);
          return false;
        }
      } catch (e) { /* offline or connection reset: retry */ }
      await sleep(delay);
      delay = Math.min(delay * 2, 8000);
    }
    say(`Could not record "${fields.kind}" (the server is unreachable).`);
    return false;
  }

  async function fetchSuggestion() {
    const body = JSON.stringify({
      case_id: data.case_id, message: data.message, customer_name: data.customer_name,
      context: data.context, fields: data.fields,
    });
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const r = await fetch("/v1/suggest", {
          method: "POST", headers: { "content-type": "application/json", ...csrf }, body,
        });
        if (r.ok) return await r.json();
        if (r.status === 401) { loggedOut(); return null; }
        if (r.status !== 503) return null; // 503: models still loading
      } catch (e) { /* retry */ }
      await sleep(500 * (attempt + 1));
    }
    return null;
  }

  function loggedOut() {
    statusLine.replaceChildren("Your session has ended: ");
    const link = document.createElement("a");
    link.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    link.textContent = "log in again";
    statusLine.append(link, " (your reply stays in this page while it is open).");
  }

  function row(dl, term, value) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    dl.append(dt, dd);
  }

  function pct(x) { return x == null ? "-" : `${Math.round(x * 100)}%`; }

  function showNone(result) {
    box.className = "suggestion none";
    box.removeAttribute("aria-busy");
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No suggestion for this message.";
    if (result && result.abstained_at) p.title = `${result.abstained_at}: ${result.reason || ""}`;
    box.replaceChildren(p);
  }

  function show(result) {
    suggestion = result;
    const node = document.getElementById("suggestion-template").content.cloneNode(true);
    const slot = (name) => node.querySelector(`[data-slot="${name}"]`);
    slot("topic").textContent = result.topic || "";
    slot("confidence").textContent = `confidence ${pct(result.confidence)}`;
    slot("text").textContent = result.text;
    const why = slot("why");
    row(why, "Topic", `${result.topic} (confidence ${pct(result.confidence)})`);
    row(why, "Answer", `${titles[result.answer_id] || "(untitled)"} · ${result.answer_id}`);
    const alts = (result.alternatives || []).map(
      (a) => `${titles[a.id] || a.id}${a.score != null ? ` (${pct(a.score)})` : ""}`);
    row(why, "Alternatives", alts.length ? alts.join("; ") : "none");
    const stages = (result.trace || []).filter((t) => t.stage !== "embed")
      .map((t) => `${t.stage} ${t.mode || ""} ${t.label || ""}`.trim());
    row(why, "Stages", stages.join(" → "));
    box.className = "suggestion live";
    box.removeAttribute("aria-busy");
    box.replaceChildren(node);
    document.getElementById("insert").addEventListener("click", insert);
    box.querySelectorAll("[data-reason]").forEach((b) =>
      b.addEventListener("click", () => dismiss(b.dataset.reason, b.textContent)));
    postEvent({ kind: "shown" });
  }

  function insert() {
    if (!suggestion || sent) return;
    const start = reply.selectionStart ?? reply.value.length;
    const end = reply.selectionEnd ?? start;
    reply.setRangeText(suggestion.text, start, end, "end");
    reply.focus();
    say("Suggestion inserted: edit it as you like.");
    postEvent({ kind: "inserted" });
  }

  function dismiss(reason, label) {
    if (!suggestion) return;
    postEvent({ kind: "dismissed", reason });
    box.className = "suggestion none";
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = `Suggestion dismissed (${label.toLowerCase()}). Thanks, this improves the suggestions.`;
    box.replaceChildren(p);
    reply.focus();
  }

  async function send() {
    const text = reply.value.trim();
    if (sent) return;
    if (!text) { say("Write a reply first."); reply.focus(); return; }
    sent = true;
    sendButton.disabled = true;
    say("Sending…");
    const handle = Math.round((performance.now() - openedAt) / 100) / 10;
    const ok = await postEvent({ kind: "sent", text });
    if (!ok) { sent = false; sendButton.disabled = false; return; }
    await postEvent({ kind: "resolved", handle_seconds: handle });
    let next = "/";
    try {
      const r = await fetch(`/cases/${encodeURIComponent(data.case_id)}/resolve`, {
        method: "POST", headers: { accept: "application/json", ...csrf },
      });
      if (r.ok) next = (await r.json()).next;
    } catch (e) { /* the events are recorded; the status will follow */ }
    reply.readOnly = true;
    statusLine.replaceChildren(`Sent and resolved in ${handle} s. `);
    const link = document.createElement("a");
    link.href = next;
    link.id = "next";
    link.textContent = next === "/" ? "Back to the inbox" : "Next case →";
    statusLine.append(link);
    link.focus();
  }

  sendButton.addEventListener("click", send);
  document.addEventListener("keydown", (e) => {
    if (e.altKey && e.code === "KeyI") { e.preventDefault(); insert(); }
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); send(); }
  });

  fetchSuggestion().then((result) => {
    suggestionId = result ? result.suggestion_id : null;
    if (result && result.mode === "live" && result.text) show(result);
    else showNone(result);
  });
})();
