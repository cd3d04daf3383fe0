// The Chatwoot Dashboard App page (see service/routes/embed.py for who may frame it and how it
// authenticates). Chatwoot posts `{"event": "appContext", "data": {conversation, contact,
// currentAgent}}` (a JSON string); only messages from the configured Chatwoot origin, sent by the
// parent window, are read. The page asks again (`chatwoot-dashboard-app:fetch-info`) on load and every
// few seconds while visible, and asks for a suggestion whenever the conversation's latest incoming,
// public message changes (or at the next appContext, when the service did not answer): its case,
// that message's Chatwoot id, the earlier turns as context. Copy, the alternatives and the dismiss reasons post the console's events, with
// the agent as their `agent_id`. Case and agent are named as the Chatwoot connector names them
// (integrations/chatwoot.py): `chatwoot:<account id>:<conversation number>`, and the agent's name in
// Chatwoot (else `chatwoot user <id>`), so the page and the connector share one suggestion per
// message, and the per-agent figures join the agent's copies with the replies the webhook reports.
"use strict";
(() => {
  const S = window.Supportcue;
  const { chatwoot_origin: origin, suggest_max_bytes: maxBytes } = JSON.parse(document.getElementById("embed-data").textContent);
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  const box = document.getElementById("suggestion");
  const statusLine = document.getElementById("status");
  const say = (text) => { statusLine.textContent = text; };
  const MAX_TURNS = 10;
  const MAX_TURN_CHARS = 2000;
  const ASK_EVERY_MS = 5000;
  let current = null; // {key, case_id, message_id, suggestion, agentId, customerName}
  let copied = false;
  let missingShown = null; // the message whose suggestion, asked about by id, is not made yet

  function note(text) {
    box.className = "suggestion none";
    box.removeAttribute("aria-busy");
    box.replaceChildren(S.el("p", { class: "why-none", text }));
  }

  if (!origin) {
    note("Chatwoot is not configured: set [chatwoot] base_url (or frame_origin, the address agents open Chatwoot at) in supportcue.toml (only that origin may show this page).");
    return;
  }
  if (!key) {
    note("This page needs its key: use the Dashboard App URL that `supportcue keys create --role embed` printed (it ends in #key=…).");
    return;
  }
  let refused = false;
  const api = S.client({
    headers: () => ({ authorization: `Bearer ${key}` }),
    onLoggedOut: () => {
      refused = true;
      note("The embed key was refused (revoked or mistyped): ask an admin for a new Dashboard App URL.");
    },
    say,
  });

  const isObject = (x) => x !== null && typeof x === "object";
  const incoming = (m) => m.message_type === 0 || m.message_type === "incoming";
  const outgoing = (m) => m.message_type === 1 || m.message_type === "outgoing";
  // A deleted message stays in Chatwoot with its text replaced ("This message was deleted") and
  // `content_attributes.deleted` set, and a reaction (an emoji put on a message, on WhatsApp or
  // Instagram) is a message whose content is the emoji, `is_reaction` set: neither is a turn, nor
  // ever the customer's question (the connector ignores both too).
  const flagged = (m, name) => Boolean(isObject(m.content_attributes) && m.content_attributes[name]);
  const listed = (m) => !m.private && !flagged(m, "deleted") && !flagged(m, "is_reaction");
  const said = (m) => listed(m) && typeof m.content === "string" && m.content.trim() !== ""
    && !readsAsNothing(m);

  // An e-mail whose HTML body holds no text (a screenshot pasted in it, no text part: Chatwoot's
  // `content` is the HTML) says nothing, as the connector reads it (mailtext.clean; its webhook
  // ignores it, "the message has no text"), so it is no turn either. Its HTML is parsed inert
  // (DOMParser runs no script and loads no image), once per message and content.
  const HTML_TAG = /<\s*\/?\s*(?:p|br|div|span|html|body|head|table|tr|td|blockquote|ul|ol|li|a|b|i|strong|em|font|img|hr|h[1-6]|meta|style|pre)\b[^<>]*>/i;
  const readCache = new Map();
  function readsAsNothing(m) {
    const content = m.content;
    if (!content.includes("<") || !HTML_TAG.test(content)) return false;
    const cached = readCache.get(m.id);
    if (cached && cached.content === content) return cached.empty;
    const doc = new DOMParser().parseFromString(content, "text/html");
    doc.querySelectorAll("style, script, head, title").forEach((n) => n.remove());
    const empty = !doc.body || doc.body.textContent.trim() === "";
    if (readCache.size > 1000) readCache.clear();
    readCache.set(m.id, { content, empty });
    return empty;
  }
  // A bot's message (an agent bot's, Captain's) is outgoing, as an agent's is: its sender says it
  // is a bot, and it is the bot's turn (the connector keeps it so too), never the agent's.
  const BOT_SENDERS = new Set(["AgentBot", "Captain::Assistant", "agent_bot", "captain_assistant"]);
  const byBot = (m) => BOT_SENDERS.has(m.sender_type) || (isObject(m.sender) && BOT_SENDERS.has(m.sender.type));
  const order = (a, b) => (a.created_at || 0) - (b.created_at || 0) || (a.id || 0) - (b.id || 0);

  // The agent as the connector names Chatwoot users: their name, else their id.
  function agentName(agent) {
    if (!isObject(agent)) return null;
    const name = typeof agent.name === "string" ? agent.name.trim() : "";
    return (name || `chatwoot user ${agent.id}`).slice(0, 100);
  }

  // The latest public customer message and the turns before it, oldest first (anything in the list
  // that is not a message object is no turn).
  function latestQuestion(conversation) {
    const messages = Array.isArray(conversation.messages) ? conversation.messages : [];
    const turns = messages.filter((m) => isObject(m) && said(m) && (incoming(m) || outgoing(m))).sort(order);
    let last = -1;
    turns.forEach((m, i) => { if (incoming(m)) last = i; });
    if (last < 0) return null;
    const context = turns.slice(Math.max(0, last - MAX_TURNS), last).map((m) => ({
      role: incoming(m) ? "customer" : byBot(m) ? "bot" : "agent", text: m.content.slice(0, MAX_TURN_CHARS),
    }));
    return { message: turns[last], context };
  }

  function event(fields, key) {
    return api.postEvent({
      case_id: current.case_id, suggestion_id: current.suggestionId, agent_id: current.agentId, ...fields,
    }, key);
  }

  // The text on the clipboard: in a cross-origin frame the Clipboard API needs a permission Chatwoot's
  // iframe does not grant, so a selected, off-screen text area and the copy command come first. The
  // text area takes the focus to be selected: it goes back to the button that copied.
  async function copy(text) {
    const back = document.activeElement;
    const area = S.el("textarea", { class: "offscreen", readonly: "", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    if (back && back !== document.body && back.isConnected) back.focus();
    if (!ok && navigator.clipboard) {
      try { await navigator.clipboard.writeText(text); ok = true; } catch (e) { ok = false; }
    }
    return ok;
  }

  async function copySuggestion(button) {
    const s = current && current.suggestion;
    if (!s) return;
    if (!(await copy(s.text))) { say("Copying was refused by the browser: select the text and press Ctrl+C."); return; }
    say("Copied: paste it into the reply box (Ctrl+V) and edit it as you like.");
    button.firstChild.textContent = "Copied";
    if (!copied) {
      copied = true;
      event({ kind: "inserted" }, `inserted:${s.suggestion_id}:${current.agentId || ""}`);
    }
  }

  async function useAnswer(answerId, button) {
    if (button) button.disabled = true;
    const composed = await api.compose(answerId, { case_id: current.case_id, customer_name: current.customerName });
    if (button) { button.disabled = false; if (S.focusLost()) button.focus(); }
    if (!composed) return;
    if (!(await copy(composed.text))) { say("Copying was refused by the browser."); return; }
    say(composed.missing.length
      ? `Copied: paste it into the reply box and fill in ${composed.missing.map((m) => `{${m}}`).join(", ")}.`
      : "Copied: paste it into the reply box (Ctrl+V) and edit it as you like.");
    event({ kind: "alternative", answer_id: answerId }, `alternative:${current.suggestionId}:${answerId}:${current.agentId || ""}`);
  }

  function offerLibrary(lead, ...controls) {
    const search = S.librarySearch({ api, label: "Search the approved answers", onPick: (a) => useAnswer(a.id, null) });
    box.className = "suggestion none";
    box.removeAttribute("aria-busy");
    box.replaceChildren(S.el("p", { class: "why-none" }, lead, ...controls), search);
  }

  // As in the console: a dismissal the server refused or never got brings the card back, and Undo,
  // in its place, takes a dismissal made by mistake back (an `undismissed` event, once recorded).
  async function dismiss(reason, label) {
    if (!current || !current.suggestion) return;
    const mine = current;
    const dismissed = mine.suggestion;
    mine.suggestion = null;
    const undo = S.el("button", { type: "button", id: "undo-dismiss", text: "Undo" });
    offerLibrary(`Suggestion dismissed (${label.toLowerCase()}). Thanks, this improves the suggestions. `, undo);
    box.querySelector("#library-q").focus(); // the next step; a keyboard user's focus left with the card
    const shown = box.firstChild;
    // a fresh key per dismissal (its retries reuse it; its undo's is made from it): one built from
    // the suggestion and the reason was taken again after an undo and a reload, and not stored
    const key = `dismissed:${S.newKey()}`;
    const recorded = event({ kind: "dismissed", reason }, key);
    undo.addEventListener("click", async () => {
      if (current !== mine || mine.suggestion) return;
      undo.disabled = true;
      const ok = (await recorded) && current === mine && (await event({ kind: "undismissed" }, `undismissed:${key}`));
      if (current !== mine || box.firstChild !== shown) return;
      if (!ok) { undo.disabled = false; if (S.focusLost()) undo.focus(); return; }
      show(dismissed);
      say("Dismissal undone: the suggestion is back.");
      box.querySelector("#use-suggestion").focus();
    });
    const ok = await recorded;
    if (!ok && current === mine && box.firstChild === shown) {
      show(dismissed);
      if (S.focusLost()) box.querySelector("#use-suggestion").focus(); // the search had it
    }
  }

  function show(result) {
    current.suggestion = result;
    box.className = "suggestion live";
    box.removeAttribute("aria-busy");
    box.replaceChildren(S.card(result, {
      primary: { label: "Copy", onClick: copySuggestion },
      alternativeVerb: "Copy",
      onAlternative: (alt, button) => useAnswer(alt.id, button),
      onDismiss: dismiss,
    }));
    event({ kind: "shown" }, `shown:${result.suggestion_id}:${current.agentId || ""}`);
  }

  async function onContext(context) {
    const conversation = isObject(context) ? context.conversation : null;
    if (refused) return;
    if (!isObject(conversation) || conversation.id == null) return; // not Chatwoot's shape: ignored
    const question = latestQuestion(conversation);
    if (!question) {
      current = null;
      const messages = Array.isArray(conversation.messages) ? conversation.messages : [];
      note(messages.some((m) => isObject(m) && incoming(m) && listed(m))
        ? "The customer's messages have no text to suggest a reply for (an image or an attachment alone)."
        : "No message from the customer in this conversation yet.");
      return;
    }
    const contact = [context.contact, isObject(conversation.meta) && conversation.meta.sender].find(isObject) || {};
    const asked = `${conversation.id}:${question.message.id}`;
    if (current && current.key === asked) return; // the same message: its suggestion is on screen
    const again = current && current.unanswered === asked; // asked before, the service did not answer
    current = {
      key: asked,
      case_id: conversation.account_id != null ? `chatwoot:${conversation.account_id}:${conversation.id}` : `chatwoot:${conversation.id}`,
      agentId: agentName(context.currentAgent),
      customerName: typeof contact.name === "string" && contact.name ? contact.name : null,
      suggestion: null,
      suggestionId: null,
    };
    copied = false;
    if (!again) { // asked again, the page keeps saying that the service did not answer until it does
      say("");
      box.className = "suggestion loading";
      box.setAttribute("aria-busy", "true");
      box.replaceChildren(S.el("p", { class: "muted", text: "Looking for a suggestion…" }));
    }
    const mine = current;
    const request = {
      case_id: mine.case_id, message_id: String(question.message.id), message: question.message.content,
      customer_name: mine.customerName, context: question.context,
    };
    // a message too long for the request's body (Chatwoot keeps 150,000 characters) is asked about
    // by its id: the suggestion its webhook's note was made with, the message never sent again
    const tooLong = new TextEncoder().encode(JSON.stringify(request)).length > maxBytes;
    const result = tooLong ? await api.stored(request.case_id, request.message_id) : await api.suggest(request);
    if (current !== mine || refused) return; // another message came meanwhile, or the key is refused
    if (!result || result.missing) { // not answered, or not made yet: Chatwoot's next appContext asks again
      mine.key = null;
      mine.unanswered = asked;
    }
    mine.suggestionId = (result && result.suggestion_id) || null;
    if (result && result.missing) {
      if (missingShown === asked) return; // asked again: the search box, maybe in use, stays as it is
      missingShown = asked;
      offerLibrary(`This message is too long to send from here (${question.message.content.length.toLocaleString("en")} characters): its suggestion is the one made when Chatwoot's webhook delivers it, and there is none yet. `);
      return;
    }
    missingShown = null;
    if (result && result.mode === "live" && result.text) show(result);
    else offerLibrary(S.whyNone(result));
  }

  window.addEventListener("message", (e) => {
    if (e.origin !== origin || e.source !== window.parent) return; // only Chatwoot, framing this page
    let payload = e.data;
    if (typeof payload === "string") {
      try { payload = JSON.parse(payload); } catch (err) { return; }
    }
    if (payload && payload.event === "appContext") onContext(payload.data);
  });

  const ask = () => { if (window.parent !== window) window.parent.postMessage("chatwoot-dashboard-app:fetch-info", origin); };
  ask();
  setInterval(() => { if (document.visibilityState === "visible") ask(); }, ASK_EVERY_MS);
  window.addEventListener("focus", ask);
})();
