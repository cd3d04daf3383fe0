// Starts Swagger UI on /docs (a static file, so the page needs no inline script under the CSP).
"use strict";
(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // the default would send the schema to validator.swagger.io
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    // "Try it out" while logged in: the session's requests that change something need its CSRF
    // token (without it, 403 "missing or wrong CSRF token"); with a key (Authorize) it is not needed
    requestInterceptor: (request) => {
      const meta = document.querySelector('meta[name="csrf-token"]');
      if (meta && new URL(request.url, window.location.href).origin === window.location.origin) {
        request.headers["x-csrf-token"] = meta.content;
      }
      return request;
    },
  });
})();
