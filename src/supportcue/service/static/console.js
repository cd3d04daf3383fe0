// The agent console's case view: the suggestion for the case's message (one per message: opening
// the case again shows the same one, and its `shown` event counts once), insert it (Alt+I, once) or
// one of its alternatives, dismiss it with a reason (then nothing is left to insert, and Undo, shown in
// its place, brings it back), or, when there is none, read why and search the approved answers (type,
// Enter inserts). Each step is reported to
// POST /v1/events with the page's CSRF token; the server records the logged-in agent as the events'
// agent. Shared parts are in suggestion.js.
"use strict";
(() => {
  const S = window.Supportcue;
  const data = JSON.parse(document.getElementById("case-data").textContent);
  const titles = JSON.parse(document.getElementById("answer-titles").textContent);
  const box = document.getElementById("suggestion");
  const reply = document.getElementById("reply");
  const sendButton = document.getElementById("send");
  const statusLine = document.getElementById("status");
  const openedAt = performance.now();
  const say = (text) => { statusLine.textContent = text; };
  const loggedOut = () => S.loggedOut(statusLine, "send: your reply stays in this page");
  const api = S.client({ ...S.sessionAuth(), onLoggedOut: loggedOut, say });
  let suggestion = null; // the live suggestion while it may be inserted (null once dismissed)
  let suggestionId = null; // the stored suggestion (shown or not), so `sent` pairs with it
  let inserted = false;
  let sent = false;

  const event = (fields, key) => api.postEvent({ case_id: data.case_id, suggestion_id: suggestionId, ...fields }, key);
  const caseValues = { case_id: data.case_id, customer_name: data.customer_name, fields: data.fields };

  function put(text) {
    const start = reply.selectionStart ?? reply.value.length;
    const end = reply.selectionEnd ?? start;
    reply.setRangeText(text, start, end, "end");
    reply.focus();
  }

  // Use an answer the agent picked (an alternative, or one found in the library): its reply for this
  // case goes into the box, recorded as an `alternative` event naming it. A pick repeated while its
  // reply is on its way, or once it is in the box (Enter pressed twice), puts it there once.
  let composing = null;
  async function useAnswer(answerId, button) {
    if (sent || composing === answerId) return;
    composing = answerId;
    if (button) button.disabled = true;
    const composed = await api.compose(answerId, caseValues);
    composing = null;
    if (!composed) {
      if (button) { button.disabled = false; if (S.focusLost()) button.focus(); }
      return;
    }
    if (reply.value.includes(composed.text)) { say("That answer is already in your reply."); reply.focus(); return; }
    put(composed.text);
    say(composed.missing.length
      ? `Answer inserted: fill in ${composed.missing.map((m) => `{${m}}`).join(", ")}.`
      : "Answer inserted: edit it as you like.");
    event({ kind: "alternative", answer_id: answerId }, `alternative:${suggestionId}:${answerId}`);
  }

  function offerLibrary(lead, ...controls) {
    const p = document.createElement("p");
    p.className = "why-none";
    p.append(lead, ...controls);
    const search = S.librarySearch({
      api, label: "Search the approved answers", onPick: (answer) => useAnswer(answer.id, null),
    });
    box.className = "suggestion none";
    box.removeAttribute("aria-busy");
    box.replaceChildren(p, search);
  }

  function show(result) {
    suggestion = result;
    box.className = "suggestion live";
    box.removeAttribute("aria-busy");
    box.replaceChildren(S.card(result, {
      titles,
      primary: { label: "Insert", shortcut: { aria: "Alt+I", label: "Alt+I" }, onClick: insert },
      alternativeVerb: "Insert",
      onAlternative: (alt, button) => useAnswer(alt.id, button),
      onDismiss: dismiss,
    }));
    event({ kind: "shown" }, `shown:${result.suggestion_id}`);
  }

  function insert() {
    if (sent) return;
    if (!suggestion) { say("There is no suggestion to insert."); return; }
    if (inserted) { say("The suggestion is already in your reply."); reply.focus(); return; }
    inserted = true;
    put(suggestion.text);
    const button = document.getElementById("use-suggestion");
    if (button) { button.disabled = true; button.firstChild.textContent = "Inserted "; }
    say("Suggestion inserted: edit it as you like.");
    event({ kind: "inserted" }, `inserted:${suggestion.suggestion_id}`);
  }

  // Dismiss the suggestion; when the server refuses or cannot be reached, the card comes back (the
  // message says why) so the agent may dismiss it again, unless the page has moved on meanwhile. In
  // its place, an Undo for a dismissal by mistake: it records an `undismissed` event (the dismissal
  // then counts nowhere) and brings the card back. Each dismissal has a fresh key (its retries reuse
  // it), and its undo one made from it: a key built from the suggestion and the reason would be the
  // same again after an undo and a reload, and the new dismissal acknowledged as a repeat, not stored.
  async function dismiss(reason, label) {
    if (!suggestion) return;
    const dismissed = suggestion;
    suggestion = null; // nothing left to insert (Alt+I does nothing now)
    const key = `dismissed:${S.newKey()}`;
    const undo = document.createElement("button");
    undo.type = "button";
    undo.id = "undo-dismiss";
    undo.textContent = "Undo";
    offerLibrary(`Suggestion dismissed (${label.toLowerCase()}). Thanks, this improves the suggestions. `, undo);
    const shown = box.firstChild;
    reply.focus();
    const recorded = event({ kind: "dismissed", reason }, key);
    undo.addEventListener("click", () => undoDismiss(dismissed, key, recorded, undo, shown));
    const ok = await recorded;
    if (!ok && !sent && box.firstChild === shown) {
      show(dismissed);
      if (S.focusLost()) document.getElementById("use-suggestion").focus();
    }
  }

  // Undo a dismissal, once it is recorded (an undo stored before its dismissal would cancel nothing);
  // the same undo repeated (a double click, a retry) is one event.
  async function undoDismiss(dismissed, key, recorded, button, shown) {
    if (sent || suggestion) return;
    button.disabled = true;
    const ok = (await recorded) && (await event({ kind: "undismissed" }, `undismissed:${key}`));
    if (sent || box.firstChild !== shown) return;
    if (!ok) { button.disabled = false; if (S.focusLost()) button.focus(); return; }
    show(dismissed);
    say("Dismissal undone: the suggestion is back.");
    document.getElementById("use-suggestion").focus();
  }

  async function send() {
    const text = reply.value.trim();
    if (sent) return;
    if (!text) { say("Write a reply first."); reply.focus(); return; }
    sent = true;
    sendButton.disabled = true;
    say("Sending…");
    const handle = Math.round((performance.now() - openedAt) / 100) / 10;
    const ok = await event({ kind: "sent", text });
    if (!ok) { // the status line says why; the Send button (disabled meanwhile) gets the focus back
      sent = false;
      sendButton.disabled = false;
      if (S.focusLost()) sendButton.focus();
      return;
    }
    reply.readOnly = true;
    await resolve(handle, S.newKey());
  }

  // Record the case resolved and mark it so (the inbox then leaves it out). When either fails, the
  // agent is told so, with a button that tries again (the same event key). Only an event not
  // recorded leaves the case open: a recorded one closes it on the server, so when the close that
  // follows fails the page does not claim the case stays open, only that it could not confirm it.
  async function resolve(handle, key) {
    const recorded = await event({ kind: "resolved", handle_seconds: handle }, key);
    let problem = recorded ? null : "its event was not recorded";
    let next = "/";
    if (recorded) {
      try {
        const r = await api.call(`/cases/${encodeURIComponent(data.case_id)}/resolve`, {
          method: "POST", headers: { accept: "application/json" },
        });
        const answer = await r.json().catch(() => ({}));
        if (r.ok) next = answer.next;
        else problem = answer.detail || `HTTP ${r.status}`;
      } catch (e) {
        problem = "the server did not answer";
      }
    }
    if (problem) {
      const again = document.createElement("button");
      again.type = "button";
      again.id = "resolve-again";
      again.textContent = recorded ? "Try again" : "Mark resolved";
      again.addEventListener("click", () => { again.disabled = true; resolve(handle, key); });
      statusLine.replaceChildren(recorded
        ? `Sent in ${handle} s and its resolution was recorded, but the console could not confirm the case is closed (${problem}). `
        : `Sent in ${handle} s, but the case was not marked resolved (${problem}): it stays open. `, again);
      again.focus();
      return;
    }
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
    if (e.altKey && e.code === "KeyI") { e.preventDefault(); if (!e.repeat) insert(); }
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); send(); }
  });
  reply.focus();

  api.suggest({
    case_id: data.case_id, message_id: data.message_id, message: data.message,
    customer_name: data.customer_name, context: data.context, fields: data.fields,
  }).then((result) => {
    suggestionId = (result && result.suggestion_id) || null;
    if (result && result.mode === "live" && result.text) show(result);
    else offerLibrary(S.whyNone(result));
  });
})();
