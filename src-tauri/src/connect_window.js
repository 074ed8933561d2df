/* The page of the Human API Connect window; connect_window.rs has the threat model. It reads
   the Connect token (or, for Connect 1.x, the client and user ids and the public token) from
   the URL fragment, opens Connect, and reports each result by navigating
   to the reserved result URL, which the app intercepts. */
(function () {
  "use strict";
  var RESULT_URL = "__RESULT_URL__";
  var status = document.getElementById("status");
  var params = new URLSearchParams(window.location.hash.slice(1));
  var legacy = params.get("flow") === "legacy";
  history.replaceState(null, "", window.location.pathname);

  function report(kind, payload) {
    window.location.href = RESULT_URL + "?kind=" + encodeURIComponent(kind) +
      "&event=" + encodeURIComponent(JSON.stringify(payload));
  }

  if (!(legacy ? params.get("clientUserId") : params.get("token"))) {
    status.textContent = "This window has no Connect session. Close it and open Connect again from Datalinks.";
    return;
  }
  if (!window.HumanConnect || typeof window.HumanConnect.open !== "function") {
    status.textContent = "Human API Connect could not be loaded. Check the connection, close this window and try again.";
    return;
  }
  status.textContent = "Human API Connect is open. Close it to return to Datalinks.";
  if (legacy) {
    window.HumanConnect.open({
      clientId: params.get("clientId"),
      clientUserId: params.get("clientUserId"),
      publicToken: params.get("publicToken") || "",
      finish: function (err, sessionTokenObject) {
        if (err) report("error", { message: String(err) });
        else report("finish", sessionTokenObject);
      },
      close: function () { report("close", {}); }
    });
    return;
  }
  window.HumanConnect.open({
    token: params.get("token"),
    onConnectSource: function (payload) { report("connect", payload); },
    onDisconnectSource: function (payload) { report("disconnect", payload); },
    onClose: function (payload) { report("close", payload); }
  });
})();
