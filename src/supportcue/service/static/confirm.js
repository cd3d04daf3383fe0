// A form's button that takes something out of use (`data-confirm="question"`) asks first: cancelled,
// the form is not sent. Without this script the button works at one click, as before.
(() => {
  "use strict";
  document.addEventListener("submit", (e) => {
    const question = e.submitter && e.submitter.dataset.confirm;
    if (question && !window.confirm(question)) e.preventDefault();
  });
})();
