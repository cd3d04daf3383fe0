// What the agent console (console.js) and the Chatwoot embed page (embed.js) share: a client of the
// API (suggestions, events, the answer library), the suggestion card, why there is none in words,
// and the search of the approved answers. Each page decides what "use" means (insert into its reply
// box, or copy) and how it authenticates (the session's CSRF token, or the embed key).
"use strict";
window.Supportcue = (() => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // non-secure contexts lack randomUUID
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function pct(x) { return x == null ? "-" : `${Math.round(x * 100)}%`; }

  // Whether the keyboard focus has been lost (to the page's body): a focused button that is disabled
  // while its request runs, or an element that is replaced, drops it, and a keyboard user would have
  // to start again from the top of the page. The pages then put it back where the agent was.
  function focusLost() { return !document.activeElement || document.activeElement === document.body; }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }

  // The CSRF token of a fresh copy of this page, or null (the session has ended). A page opened
  // before its agent logged in again (in another tab, after the session ended) holds the old
  // session's token, which every change is refused with; this one is the new session's.
  async function pageToken() {
    try {
      const r = await fetch(location.href, { headers: { accept: "text/html" } });
      if (!r.ok) return null;
      const meta = new DOMParser().parseFromString(await r.text(), "text/html").querySelector('meta[name="csrf-token"]');
      return meta ? meta.content : null;
    } catch (e) {
      return null;
    }
  }

  // A page's session credentials for its script: its CSRF token as a header, and `renew`, which
  // takes the token of a fresh copy of the page (for `client`'s `renew`).
  function sessionAuth() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return {
      headers: () => (meta ? { "x-csrf-token": meta.content } : {}),
      renew: async () => {
        const token = meta && (await pageToken());
        if (token) meta.content = token;
        return Boolean(token);
      },
    };
  }

  // What a page says in `line` when its session has ended: log in again in another tab (this one
  // keeps what was written), then come back and `then`.
  function loggedOut(line, then) {
    const link = el("a", { href: `/login?next=${encodeURIComponent(location.pathname)}`, target: "_blank", rel: "noopener" });
    link.textContent = "log in again in a new tab";
    line.replaceChildren("Your session has ended: ", link, `, then come back and ${then}.`);
  }

  // A client of the API. `headers()` authenticate every call (the page's CSRF token with the session
  // cookie, or `authorization: Bearer <embed key>`); `onLoggedOut` runs on a 401, `say` shows problems.
  // With `renew` (an async function that updates what `headers()` gives, true when it did), a call
  // refused for its CSRF token renews the token and is sent again, once: the agent who logged in
  // again in another tab does not lose what is in this page.
  function client({ headers, onLoggedOut, say, renew }) {
    async function call(url, init = {}) {
      const send = () => fetch(url, { ...init, headers: { ...init.headers, ...headers() } });
      const r = await send();
      if (r.status !== 403 || !renew) return r;
      const detail = await r.clone().json().catch(() => ({}));
      if (!String(detail.detail || "").startsWith("missing or wrong CSRF token")) return r;
      return (await renew()) ? send() : r;
    }
    const json = { "content-type": "application/json" };

    // Post one event; network errors and 5xx are retried with the same key (backoff up to ~30 s in
    // all), so the server stores it once. A fixed `key` (e.g. "shown:<suggestion>") makes a repeat of
    // the same action, even from a reloaded page, count once.
    async function postEvent(fields, key) {
      const body = JSON.stringify({ idempotency_key: key || newKey(), ...fields });
      let delay = 250;
      for (let attempt = 0; attempt < 9; attempt++) {
        try {
          const r = await call("/v1/events", { method: "POST", headers: json, body, keepalive: true });
          if (r.ok) return true;
          if (r.status === 401) { onLoggedOut(); return false; }
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

    // A JSON answer from the service, asked again while it is unavailable (503: the models load) or
    // unreachable. Null when it cannot be reached (or the caller was logged out); `{[refusal]: the
    // server's words}` when it answers otherwise.
    async function retried(url, init, refusal) {
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          const r = await call(url, init);
          if (r.ok) return await r.json();
          if (r.status === 401) { onLoggedOut(); return null; }
          if (r.status !== 503) {
            const detail = await r.json().catch(() => ({}));
            return { [refusal]: typeof detail.detail === "string" ? detail.detail : `HTTP ${r.status}` };
          }
        } catch (e) { /* retry */ }
        await sleep(500 * (attempt + 1));
      }
      return null;
    }

    // The suggestion for a message (the stored one when the same case and message_id were asked
    // before). Null when the service cannot be reached; `{refused}` (the server's words) when it
    // refuses the message (too long, say).
    const suggest = (request) =>
      retried("/v1/suggest", { method: "POST", headers: json, body: JSON.stringify(request) }, "refused");

    // The suggestion already made for a message, asked about by its case and message id alone (a
    // message too long to send). Null when the service cannot be reached; `{missing}` (the server's
    // words) when none is stored.
    const stored = (caseId, messageId) =>
      retried(`/v1/suggest?${new URLSearchParams({ case_id: caseId, message_id: messageId })}`, {}, "missing");

    // Approved answers holding every word of `q` (title matches first).
    async function searchAnswers(q) {
      const query = new URLSearchParams({ status: "approved", q, limit: "8" });
      const r = await call(`/v1/answers?${query}`);
      if (r.status === 401) { onLoggedOut(); return []; }
      if (!r.ok) throw new Error(`search failed (${r.status})`);
      return (await r.json()).data;
    }

    // An approved answer as a reply for this case: placeholders filled, the workspace's tone.
    async function compose(answerId, request) {
      const r = await call(`/v1/answers/${encodeURIComponent(answerId)}/compose`, {
        method: "POST", headers: json, body: JSON.stringify(request),
      });
      if (r.status === 401) { onLoggedOut(); return null; }
      if (!r.ok) {
        const detail = await r.json().catch(() => ({}));
        say(`Could not use that answer: ${detail.detail || r.status}`);
        return null;
      }
      return r.json();
    }

    return { call, postEvent, suggest, stored, searchAnswers, compose };
  }

  // The title of the suggested answer: from the page's titles, else from the response stage's trace.
  function answerTitle(result, titles) {
    if (titles && titles[result.answer_id]) return titles[result.answer_id];
    const entry = (result.trace || []).find((t) => t.label === result.answer_id && t.extra && t.extra.title);
    return entry ? entry.extra.title : "(untitled)";
  }

  // Why the pipeline made no suggestion, in a sentence an agent reads (the stage's own reason after).
  const STAGE_WORDS = {
    validation: "This message does not look like a question to answer",
    topic: "No topic fits this message well enough",
    response: "No approved answer fits this message",
    tone: "The answer could not be put in the team's tone",
    holdout: "No suggestion for this case: it is in the control arm of an experiment",
  };
  function whyNone(result) {
    if (!result) return "No suggestion: the suggestion service did not answer.";
    if (result.refused) return `No suggestion: the suggestion service refused this message (${result.refused}).`;
    const stage = result.abstained_at;
    const words = STAGE_WORDS[stage] || (stage ? `The ${stage} stage made no suggestion` : "No suggestion");
    const topic = result.topic && stage !== "topic" ? ` (topic: ${result.topic})` : "";
    return `${words}${topic}.${result.reason ? ` Why: ${result.reason}.` : ""}`;
  }

  function row(dl, term, value) { dl.append(el("dt", { text: term }), el("dd", { text: value })); }

  // The suggestion card. `primary` is {label, shortcut?, onClick} (Insert, or Copy); `alternativeVerb`
  // names the alternatives' buttons; `onAlternative(alt, button)` and `onDismiss(reason, label)` act.
  function card(result, { titles, primary, alternativeVerb, onAlternative, onDismiss }) {
    const title = answerTitle(result, titles);
    const primaryButton = el("button", { type: "button", class: "primary", id: "use-suggestion" }, primary.label);
    if (primary.shortcut) {
      primaryButton.setAttribute("aria-keyshortcuts", primary.shortcut.aria);
      primaryButton.append(" ", el("kbd", { text: primary.shortcut.label }));
    }
    primaryButton.addEventListener("click", () => primary.onClick(primaryButton));
    const dismiss = el("span", { class: "dismiss", role: "group", "aria-label": "Dismiss the suggestion, with a reason" },
      el("span", { class: "muted", text: "Not useful:" }));
    for (const [reason, label] of [["wrong_topic", "Wrong topic"], ["outdated", "Outdated"], ["tone", "Tone"], ["not_needed", "Not needed"]]) {
      const b = el("button", { type: "button", "data-reason": reason, text: label });
      b.addEventListener("click", () => onDismiss(reason, label));
      dismiss.append(b);
    }
    const node = el("div", { class: "card" },
      el("div", { class: "head" },
        el("span", { class: "label", text: "Suggested reply" }),
        el("span", { class: "topic", text: result.topic || "" }),
        el("span", { class: "confidence muted", text: `confidence ${pct(result.confidence)}` })),
      el("p", { class: "text", text: result.text }),
      el("div", { class: "actions" }, primaryButton, dismiss));
    const alts = result.alternatives || [];
    if (alts.length) {
      const list = el("ul", { class: "alternatives", "aria-label": "Other answers of this topic" });
      for (const alt of alts) {
        const altTitle = alt.title || (titles && titles[alt.id]) || alt.id;
        const b = el("button", { type: "button", "data-answer": alt.id, "aria-label": `${alternativeVerb}: ${altTitle}`, text: alternativeVerb });
        b.addEventListener("click", () => onAlternative(alt, b));
        list.append(el("li", {}, el("span", { text: altTitle }),
          el("span", { class: "muted", text: alt.score != null ? ` ${pct(alt.score)}` : "" }), " ", b));
      }
      node.append(el("div", { class: "others" }, el("span", { class: "muted", text: "Or another answer:" }), list));
    }
    const why = el("dl");
    row(why, "Topic", `${result.topic} (confidence ${pct(result.confidence)})`);
    row(why, "Answer", `${title} · ${result.answer_id}`);
    row(why, "Alternatives", alts.length ? alts.map((a) => `${a.title || a.id}${a.score != null ? ` (${pct(a.score)})` : ""}`).join("; ") : "none");
    const stages = (result.trace || []).filter((t) => t.stage !== "embed")
      .map((t) => `${t.stage} ${t.mode || ""} ${t.label || ""}`.trim());
    row(why, "Stages", stages.join(" → "));
    node.append(el("details", { class: "why" }, el("summary", { text: "Why this?" }), why));
    return node;
  }

  // The search of the approved answers: type to filter, arrows to move, Enter (or a click) picks.
  // `onPick(answer)` uses the answer picked.
  function librarySearch({ api, onPick, label }) {
    const input = el("input", {
      id: "library-q", type: "search", role: "combobox", autocomplete: "off", "aria-expanded": "false",
      "aria-controls": "library-results", "aria-autocomplete": "list", placeholder: "Type words of the answer…",
    });
    // hidden while empty: a listbox without options is no list to offer (and invalid ARIA)
    const list = el("ul", { id: "library-results", role: "listbox", "aria-label": "Approved answers", hidden: "" });
    const note = el("p", { class: "muted library-note", role: "status" });
    let found = [];
    let active = 0;
    let asked = 0;
    let timer = null;

    function draw() {
      list.replaceChildren(...found.map((a, i) => {
        const option = el("li", { role: "option", id: `library-option-${i}`, "aria-selected": String(i === active) },
          el("strong", { text: a.title }), " ", el("span", { class: "topic", text: a.topic }),
          el("span", { class: "snippet muted", text: a.body.length > 140 ? `${a.body.slice(0, 140)}…` : a.body }));
        option.addEventListener("mousedown", (e) => { e.preventDefault(); onPick(a); });
        return option;
      }));
      list.hidden = found.length === 0;
      input.setAttribute("aria-expanded", String(found.length > 0));
      if (found.length) input.setAttribute("aria-activedescendant", `library-option-${active}`);
      else input.removeAttribute("aria-activedescendant");
    }

    async function search() {
      const q = input.value.trim();
      const mine = ++asked;
      if (!q) { found = []; note.textContent = ""; draw(); return; }
      try {
        const answers = await api.searchAnswers(q);
        if (mine !== asked) return; // a later search has been asked for
        found = answers;
        active = 0;
        note.textContent = found.length ? `${found.length} answer${found.length > 1 ? "s" : ""}: Enter uses the highlighted one.` : "No approved answer holds these words.";
      } catch (e) {
        if (mine === asked) { found = []; note.textContent = "The search failed; try again."; }
      }
      draw();
    }

    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 120); });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" && found.length) { e.preventDefault(); active = (active + 1) % found.length; draw(); }
      else if (e.key === "ArrowUp" && found.length) { e.preventDefault(); active = (active - 1 + found.length) % found.length; draw(); }
      else if (e.key === "Enter") { e.preventDefault(); if (found[active]) onPick(found[active]); }
      else if (e.key === "Escape") { input.value = ""; found = []; note.textContent = ""; draw(); }
    });
    return el("div", { class: "library" }, el("label", { for: "library-q", text: label }), input, note, list);
  }

  return { newKey, pct, focusLost, el, sessionAuth, loggedOut, client, card, whyNone, librarySearch };
})();
