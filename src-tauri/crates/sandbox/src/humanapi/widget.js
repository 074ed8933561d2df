/* Human API sandbox: the Connect page inside the iframe, 2.x or (with sessionTokenObject) 1.x.
   Data comes from #hc-data. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("hc-data").textContent);
  var status = data.status;
  var current = data.currentConnections;
  var results = { connectedSources: [], disconnectedSources: [], requestedSources: [] };
  var target = window.parent !== window ? window.parent : window.opener;

  function post(type, eventStatus) {
    if (!target) return;
    target.postMessage({
      type: type,
      status: eventStatus,
      sessionResults: JSON.parse(JSON.stringify(results)),
      currentConnections: JSON.parse(JSON.stringify(current)),
      requestedProviders: []
    }, "*");
  }

  function isConnected(id) {
    return current.some(function (c) { return c.id === id; });
  }

  function render() {
    var statusNode = document.querySelector("[data-testid=hc-status]");
    statusNode.setAttribute("data-status", status);
    statusNode.textContent = data.messages[status] || status;
    var list = document.querySelector("[data-testid=hc-sources]");
    list.innerHTML = "";
    if (status !== "SUCCESS") return;
    data.sources.forEach(function (source) {
      var connected = isConnected(source.id);
      var row = document.createElement("li");
      row.setAttribute("data-testid", "hc-row-" + source.id);
      row.setAttribute("data-connected", String(connected));
      var name = document.createElement("span");
      name.textContent = source.name + (connected ? " (connected)" : "");
      var button = document.createElement("button");
      button.type = "button";
      button.setAttribute("data-testid", connected ? "hc-disconnect-source" : "hc-connect-source");
      button.setAttribute("data-source-id", source.id);
      button.textContent = connected ? "Disconnect" : "Connect";
      button.addEventListener("click", function () { act(connected ? "disconnect" : "connect", source.id); });
      row.appendChild(name);
      row.appendChild(document.createTextNode(" "));
      row.appendChild(button);
      list.appendChild(row);
    });
  }

  function act(action, sourceId) {
    fetch("/_connect/sources/" + encodeURIComponent(sourceId) + "/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: data.token })
    }).then(function (response) {
      return response.json();
    }).then(function (body) {
      if (body.status === "CONNECTED_SOURCE" || body.status === "DISCONNECTED_SOURCE") {
        current = body.currentConnections;
        var connecting = body.status === "CONNECTED_SOURCE";
        (connecting ? results.connectedSources : results.disconnectedSources).push(body.source);
        post(connecting ? "hapi-connect-connect-source" : "hapi-connect-disconnect-source", body.status);
      } else if (body.status) {
        status = body.status;
      }
      render();
    });
  }

  document.querySelector("[data-testid=hc-close]").addEventListener("click", function () {
    // Connect 1.x closes with finish once a source was connected, else with close
    // (docs/providers/human-api.md, "The legacy Connect 1.x flow"; how 1.x closes is inferred).
    if (data.sessionTokenObject && results.connectedSources.length && target) {
      target.postMessage({ type: "hapi-connect-finish", sessionTokenObject: data.sessionTokenObject }, "*");
    } else {
      post("hapi-connect-close", status);
    }
    if (!target || target === window.opener) {
      document.body.setAttribute("data-closed", "true");
      document.querySelector("[data-testid=hc-status]").textContent = "Connect is closed. You can close this window.";
      document.querySelector("[data-testid=hc-sources]").innerHTML = "";
    }
  });

  render();
})();
