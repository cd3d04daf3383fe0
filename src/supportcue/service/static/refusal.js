// A form sent back refused (its reason in a `p.error[role=alert]`, the text in the form kept): the
// page opens where the reason is, with the focus on it, not at its top (the library's new-answer
// form is a long page below; on a phone an answer's edit form is a screen below), so the reviewer
// sees, and a screen reader reads, that nothing was saved. Tab goes on into the form.
(() => {
  "use strict";
  const reason = document.querySelector("main p.error[role=alert]");
  if (!reason) return;
  reason.tabIndex = -1;
  reason.focus();
})();
