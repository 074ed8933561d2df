/* Human API sandbox: stand-in for humanapi-connect-client 2.x (docs/providers/human-api.md,
   "Connect") and, with LEGACY true, for the Connect 1.x script ("The legacy Connect 1.x flow"):
   HumanConnect.open({clientId, clientUserId, publicToken, finish(err, sessionTokenObject),
   close()}). */
(function (global) {
  "use strict";
  var DEFAULT_BASE_URL = "__BASE_URL__";
  var LEGACY = __LEGACY__;
  var listeners = { connect: [], disconnect: [], close: [], error: [] };
  var current = null;

  function emit(name, payload) {
    listeners[name].forEach(function (fn) { fn(payload); });
  }

  function teardown() {
    window.removeEventListener("message", current.onMessage, false);
    current.frame.remove();
    current.overlay.remove();
    current = null;
  }

  function pageUrl(base, options) {
    if (LEGACY) {
      if (!options.clientId || !options.clientUserId) {
        throw new Error("clientId and clientUserId are required");
      }
      return base + "/legacy/?clientId=" + encodeURIComponent(options.clientId) +
        "&clientUserId=" + encodeURIComponent(options.clientUserId) +
        "&publicToken=" + encodeURIComponent(options.publicToken || "");
    }
    if (!options.token) throw new Error("The token attribute is required");
    var src = base + "/?token=" + encodeURIComponent(options.token);
    if (options.mode) src += "&mode=" + encodeURIComponent(options.mode);
    return src;
  }

  function open(options) {
    options = options || {};
    if (typeof options !== "object" || Array.isArray(options)) {
      throw new Error("Argument must be an object");
    }
    if (current || document.getElementById("human-api")) return null;
    var src = pageUrl((options.baseURL || DEFAULT_BASE_URL).replace(/\/+$/, ""), options);

    var overlay = document.createElement("div");
    overlay.id = "human-api-connect-modal-overlay";
    overlay.setAttribute("data-testid", "hc-overlay");
    overlay.style.cssText = "position:fixed;top:0;left:0;width:100%;height:100%;z-index:9990;background:#333;opacity:" +
      (options.overlayOpacity || "0.6");

    var frame = document.createElement("iframe");
    frame.id = "human-api";
    frame.name = "human-api";
    frame.title = "Human API Connect (sandbox)";
    frame.setAttribute("data-testid", "hc-frame");
    frame.src = src;
    frame.style.cssText = "position:fixed;z-index:9999;border:none;background:#fff;border-radius:8px;" +
      "width:100%;height:100%;max-width:830px;max-height:590px;top:50%;left:50%;transform:translate(-50%,-50%);";

    function onMessage(event) {
      var data = event.data;
      // Like the real client, the origin is not checked; only the message type is.
      if (!data || typeof data.type !== "string" || data.type.indexOf("hapi-connect-") !== 0) return;
      var payload = {};
      Object.keys(data).forEach(function (key) { if (key !== "type") payload[key] = data[key]; });
      switch (data.type) {
        case "hapi-connect-connect-source":
          if (typeof options.onConnectSource === "function") options.onConnectSource(payload);
          emit("connect", payload);
          break;
        case "hapi-connect-disconnect-source":
          if (typeof options.onDisconnectSource === "function") options.onDisconnectSource(payload);
          emit("disconnect", payload);
          break;
        case "hapi-connect-finish":
          teardown();
          if (typeof options.finish === "function") options.finish(null, payload.sessionTokenObject);
          break;
        case "hapi-connect-close":
          teardown();
          if (LEGACY) {
            if (typeof options.close === "function") options.close();
            break;
          }
          if (typeof options.onClose === "function") options.onClose(payload);
          emit("close", payload);
          break;
      }
    }

    current = { frame: frame, overlay: overlay, onMessage: onMessage };
    window.addEventListener("message", onMessage, false);
    var body = document.body || document.documentElement;
    body.appendChild(frame);
    body.appendChild(overlay);
    return null;
  }

  function on(name, fn) {
    if (!listeners[name]) throw new Error("Unknown event " + name);
    listeners[name].push(fn);
  }

  /* Declarative launch (2.x only): <div class="hapi__token-container"><button data-hapi-token="…">. */
  if (!LEGACY) document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest
      ? event.target.closest(".hapi__token-container [data-hapi-token]")
      : null;
    if (!button) return;
    var token = button.getAttribute("data-hapi-token");
    if (!token) {
      emit("error", { message: "The data-hapi-token attribute is empty" });
      return;
    }
    open({
      token: token,
      mode: button.getAttribute("data-hapi-mode") || undefined,
      baseURL: button.getAttribute("data-hapi-base-url") || undefined
    });
  });

  global.HumanConnect = { open: open, on: on };
})(window);
