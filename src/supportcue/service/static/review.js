// The reviewer's queue (/review): loads items from GET /v1/review/queue, shows one at a time, and
// posts each review to POST /v1/reviews with the page's CSRF token (renewed after the reviewer logs in
// again in another tab, as in the console). Nothing here shows another
// reviewer's review (blind overlap).
"use strict";
(() => {
  const S = window.Supportcue;
  const form = document.getElementById("review-form");
  const box = document.getElementById("item");
  const statusLine = document.getElementById("review-status");
  const topicInput = document.getElementById("topic");
  const topicList = document.getElementById("topics");
  const validRow = document.getElementById("valid-row");
  const counter = document.getElementById("reviewed-count");
  let items = [];
  let current = null;
  let done = 0;
  const say = (text) => { statusLine.textContent = text; };
  const loggedOut = () => S.loggedOut(statusLine, "save: your review stays in this page");
  const api = S.client({ ...S.sessionAuth(), onLoggedOut: loggedOut, say }); // renews a stale token

  const filter = document.getElementById("alert-filter");
  const alertId = filter ? filter.dataset.alert : null;

  async function load() {
    let r;
    try {
      r = await api.call(`/v1/review/queue?limit=10${alertId ? `&alert=${encodeURIComponent(alertId)}` : ""}`);
    } catch (e) {
      say("Could not load the queue: the server did not answer. Reload the page to try again.");
      return;
    }
    if (!r.ok) {
      const answer = await r.json().catch(() => ({}));
      say(`Could not load the queue: ${answer.detail || r.status}.`);
      return;
    }
    const queue = await r.json();
    items = queue.data;
    topicList.replaceChildren(...queue.topics.map((t) => S.el("option", { value: t })));
    next();
  }

  function section(title, text) {
    return text ? S.el("div", {}, S.el("h2", { text: title }), S.el("p", { class: "quote", text })) : "";
  }

  function next() {
    current = items.shift() || null;
    box.removeAttribute("aria-busy");
    if (!current) {
      box.replaceChildren(S.el("p", { id: "queue-empty", text: alertId ? "Nothing left to review for this alert. Thank you!" : "Nothing left to review. Thank you!" }));
      form.hidden = true;
      return;
    }
    const c = current;
    const s = c.suggestion;
    const d = c.details || {};
    box.dataset.itemId = c.item_id;
    box.dataset.reason = c.reason;
    box.dataset.kind = c.kind;
    box.replaceChildren(
      S.el("p", {}, S.el("span", { class: `reason reason-${c.reason}`, text: c.reason.replace(/_/g, " ") }),
        ` ${c.kind}: ${c.why}`),
      c.alert ? S.el("p", { class: "why-alert" }, "Why this item: the drift alert ",
        S.el("a", { href: `/review?alert=${c.alert.id}`, text: `${c.alert.kind.replace(/_/g, " ")}: ${c.alert.subject}` })) : "",
      section(c.kind === "cluster" ? "An example message" : "Customer message", c.message),
      d.expired_at ? S.el("p", { id: "expired-label", text: `Its ${(d.expired || []).join(" and ")} label${(d.expired || []).length > 1 ? "s" : ""} expired on ${d.expired_at.slice(0, 10)}` + (d.expired_topic ? `; the topic it had: ${d.expired_topic}` : "") + "." }) : "",
      c.proposed_topic ? S.el("p", { id: "proposed-topic", text: `Proposed topic: ${c.proposed_topic}` })
        : c.reason === "expired_label" ? ""
        : c.kind === "message" ? S.el("p", { id: "proposed-topic", text: "Proposed topic: none (the assistant found no topic for it)" }) : "",
      s ? section(c.kind === "suggestion" ? "Suggested reply" : "What the assistant suggested", s.text || `(no reply: ${s.reason || s.abstained_at || "none"})`) : "",
      section("What the shadow stages would have said", d.shadow_text),
      section("The reply the agent sent", d.sent_text),
      d.terms ? S.el("p", { text: `Top terms: ${d.terms.join(", ")} (${(d.case_ids || []).length} messages)` }) : "",
      d.examples ? S.el("ul", {}, ...d.examples.map((e) => S.el("li", { text: e }))) : "",
    );
    form.reset();
    form.hidden = false;
    document.getElementById("item-id").value = c.item_id;
    validRow.hidden = c.kind !== "message";
    // flags and a corrected reply are about a suggested reply: a message's or a cluster's review
    // keeps its verdict, validity and topic only, so the form does not ask for what it would drop
    document.getElementById("flags-row").hidden = c.kind !== "suggestion";
    document.getElementById("corrected-row").hidden = c.kind !== "suggestion";
    document.getElementById("verdict-legend").textContent = {
      suggestion: "Is the suggested reply right?",
      // no topic proposed: the verdict judges that "none" (correct: no topic of ours fits it)
      message: c.reason === "expired_label" && c.proposed_topic ? "Is the topic it had still right? (If not, say incorrect and give the right one below.)"
        : c.proposed_topic ? "Is the proposed topic right?" : "Was no topic right? (If a topic fits, say incorrect and give it below.)",
      cluster: "Are these messages one topic?",
    }[c.kind] || "Verdict";
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!current) return;
    const data = new FormData(form);
    const aboutAReply = current.kind === "suggestion";
    const body = { item_id: current.item_id, verdict: data.get("verdict"), flags: aboutAReply ? data.getAll("flags") : [] };
    const topic = (data.get("topic") || "").trim();
    const corrected = aboutAReply ? (data.get("corrected_text") || "").trim() : "";
    if (topic) body.topic = topic;
    if (corrected) body.corrected_text = corrected;
    if (current.kind === "message") body.valid = document.getElementById("valid").checked;
    const button = document.getElementById("save-review");
    button.disabled = true;
    try {
      let r;
      try {
        r = await api.call("/v1/reviews", {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
        });
      } catch (e) { // offline, or the connection dropped: the review is still in the form
        say("Not saved: the server did not answer. Your review is kept: save it again.");
        return;
      }
      const answer = await r.json().catch(() => ({}));
      if (r.status === 401) {
        loggedOut();
      } else if (r.status === 201 || r.status === 409) {
        done += r.status === 201 ? 1 : 0;
        counter.textContent = `${done} reviewed`;
        say(r.status === 201 ? `Saved: ${answer.labels.length} label(s).` : answer.detail);
        if (!items.length) await load(); else next();
        box.focus(); // the next item (or "nothing left"), read out and where Tab goes on from
      } else {
        say(`Not saved: ${answer.detail || r.status}`);
      }
    } finally {
      button.disabled = false;
      if (S.focusLost()) button.focus(); // not saved: back to the button, to save again
    }
  });

  load();
})();
