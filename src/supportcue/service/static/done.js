// After a form on an answer page (or an Admin page) the server's redirect leads to `?done=ACTION`,
// and the page shows what was done in a banner ("Marked reviewed: ..."). Reloading that address showed the banner again,
// as if the action had happened twice: once the page is shown, `done` leaves the address (the rest of
// it kept), so a reload or a bookmark shows the answer as it is, without the banner.
(() => {
  "use strict";
  const url = new URL(window.location.href);
  if (!url.searchParams.has("done")) return;
  url.searchParams.delete("done");
  url.searchParams.delete("done_for"); // whom it was done to (the Admin pages' banners name them)
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
})();
