/*! Cyclewright connect portal SDK: embeds the portal your backend opened (a portal session)
 * in your page, as a modal or inline iframe, and forwards its events. No dependencies.
 *
 *   const portal = Cyclewright.open({url, token, mode: "modal", onEvent: (e) => console.log(e.type, e)});
 *   portal.close();
 *
 * Events: ready, authenticated, installed, activated, error, closed ({type, ...detail}).
 * The token travels in the URL's fragment (never sent to a server, never in a log); the portal
 * posts events only to this page's origin, and this SDK takes them only from the portal's
 * origin and only from its own iframe.
 */
(function (root, factory) {
  var api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.Cyclewright = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var SOURCE = "cyclewright-portal";
  var EVENTS = ["ready", "authenticated", "installed", "activated", "error", "closed"];

  function fail(message) {
    throw new Error("Cyclewright.open: " + message);
  }

  function portalUrl(url, token) {
    var target;
    try {
      target = new URL(url, window.location.href);
    } catch (e) {
      fail("url is not a URL: " + url);
    }
    if (target.protocol !== "https:" && target.protocol !== "http:") fail("url must be http(s): " + url);
    target.searchParams.set("parent", window.location.origin);
    target.hash = "token=" + encodeURIComponent(token);
    return target;
  }

  function style(element, rules) {
    for (var name in rules) element.style[name] = rules[name];
    return element;
  }

  /**
   * Open the portal. options: url and token (the portal session's Url and Token), mode "modal"
   * (default) or "inline", container (an element or a selector; inline only), onEvent(event),
   * title (the iframe's accessible name). Returns {iframe, close()}.
   */
  function open(options) {
    options = options || {};
    if (!options.url) fail("url (the portal session's Url) is required");
    if (!options.token) fail("token (the portal session's Token) is required");
    var mode = options.mode || "modal";
    if (mode !== "modal" && mode !== "inline") fail('mode must be "modal" or "inline", not ' + mode);
    var target = portalUrl(options.url, options.token);
    var onEvent = typeof options.onEvent === "function" ? options.onEvent : function () {};

    var iframe = document.createElement("iframe");
    iframe.src = target.href;
    iframe.title = options.title || "Integrations";
    iframe.setAttribute("allow", "clipboard-write");
    style(iframe, { border: "0", width: "100%", height: "100%", display: "block" });

    var overlay = null;
    var previousFocus = document.activeElement;
    if (mode === "inline") {
      var container = typeof options.container === "string"
        ? document.querySelector(options.container) : options.container;
      if (!container || !container.appendChild) fail("inline mode needs a container (an element or a selector)");
      container.appendChild(iframe);
    } else {
      overlay = style(document.createElement("div"), {
        position: "fixed", inset: "0", zIndex: "2147483000", background: "rgba(0, 0, 0, 0.45)",
        display: "flex", alignItems: "center", justifyContent: "center",
      });
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", iframe.title);
      var frame = style(document.createElement("div"), {
        width: "min(960px, 100vw)", height: "min(720px, 100vh)", background: "#fff",
        borderRadius: "8px", overflow: "hidden", boxShadow: "0 12px 48px rgba(0, 0, 0, 0.3)",
      });
      frame.appendChild(iframe);
      overlay.appendChild(frame);
      overlay.addEventListener("click", function (event) {
        if (event.target === overlay) close();
      });
      document.addEventListener("keydown", onKey);
      document.body.appendChild(overlay);
      iframe.focus();
    }

    var closed = false;

    function onKey(event) {
      if (event.key === "Escape") close();
    }

    function onMessage(event) {
      // Only the portal, from its own origin and its own iframe: any other message is ignored.
      if (event.origin !== target.origin || event.source !== iframe.contentWindow) return;
      var data = event.data;
      if (!data || data.source !== SOURCE || EVENTS.indexOf(data.type) < 0) return;
      var detail = data.detail && typeof data.detail === "object" ? data.detail : {};
      var forwarded = {};
      for (var key in detail) forwarded[key] = detail[key];
      forwarded.type = data.type;
      if (data.type === "closed") close();
      else onEvent(forwarded);
    }

    function close() {
      if (closed) return;
      closed = true;
      window.removeEventListener("message", onMessage);
      document.removeEventListener("keydown", onKey);
      (overlay || iframe).remove();
      if (overlay && previousFocus && previousFocus.focus) previousFocus.focus();
      onEvent({ type: "closed" });
    }

    window.addEventListener("message", onMessage);
    return { iframe: iframe, close: close };
  }

  return { open: open, version: "0.1.0" };
});
