/* The page of the Human API Connect window; connect_window.rs has the threat model. It reads
   the Connect token from the URL fragment, opens Connect, and reports each result by navigating
   to the reserved result URL, which the app intercepts. */
(function () {
  "use strict";
  var RESULT_URL = "__RESULT_URL__";
  var status = document.getElementById("status");
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  history.replaceState(null, "", window.location.pathname);

  function report(kind, payload) {
    window.location.href = RESULT_URL + "?kind=" + encodeURIComponent(kind) +
      "&event=" + encodeURIComponent(JSON.stringify(payload));
  }

  if (!token) {
    status.textContent = "This window has no Connect session. Close it and open Connect again from Datalinks.";
    return;
  }
  if (!window.HumanConnect || typeof window.HumanConnect.open !== "function") {
    status.textContent = "Human API Connect could not be loaded. Check the connection, close this window and try again.";
    return;
  }
  status.textContent = "Human API Connect is open. Close it to return to Datalinks.";
  window.HumanConnect.open({
    token: token,
    onConnectSource: function (payload) { report("connect", payload); },
    onDisconnectSource: function (payload) { report("disconnect", payload); },
    onClose: function (payload) { report("close", payload); }
  });
})();
