// First run on the sandbox over the loopback redirect, then where the secrets went.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  KEYRING_SERVICE, TOKENS_USER, CLIENT_SECRET_USER,
  startApp, e2eTest, byTestId, allByTestId, waitForCardState, showConnections, showSettings,
  setBrowserMode, browserRuns, waitForBrowserRun, keyringItems, secretsFromKeyring,
  startIpcRecording, leakedSecrets,
} from "./harness.mjs";

let browser;
const current = () => browser;

before(async () => {
  browser = await startApp();
  // From the very start, so the connect flow's responses and events are scanned too.
  await startIpcRecording(browser);
});

after(async () => {
  await browser?.deleteSession();
});

e2eTest("first run: try the sandbox and connect over loopback", current, async () => {
  setBrowserMode("allow");
  await byTestId(browser, "try-sandbox").click();
  await byTestId(browser, "sandbox-badge").waitForExist({ timeout: 15_000 });
  const connect = byTestId(browser, "connect-openhumans");
  await connect.waitForClickable({ timeout: 15_000 });

  const runsBefore = browserRuns().length;
  await connect.click();
  await waitForCardState(browser, "connected");

  const run = await waitForBrowserRun(runsBefore);
  assert.equal(run.steps.at(-1), "authorize", `fake browser: ${JSON.stringify(run)}`);
  assert.equal(run.delivered_by, "http-get", `redirect should go to the loopback listener: ${run.callback}`);
  assert.match(run.callback, /^http:\/\/127\.0\.0\.1:\d+\/.*[?&]code=/);
  assert.equal(run.callback_status, 200);

  await byTestId(browser, "member-id").waitForExist({ timeout: 15_000 });
  assert.match((await byTestId(browser, "member-id").getText()).trim(), /^\d{8}$/);
  assert.ok((await allByTestId(browser, "file-group").length) > 0, "no file-group shown");
  assert.ok((await allByTestId(browser, "file-row").length) > 0, "no file-row shown");
  assert.match(await byTestId(browser, "secret-location").getText(), /keyring|secret service/i);
});

e2eTest("the tokens and the client secrets are in the OS keyring", current, () => {
  const items = keyringItems();
  const users = items.map((item) => item.attributes.username).sort();
  // The sandbox sets up Human API and Open Collective too, so their client secrets are there as well.
  assert.deepEqual(
    users,
    ["humanapi/client_secret", "opencollective/client_secret", CLIENT_SECRET_USER, TOKENS_USER],
    `keyring items: ${JSON.stringify(items)}`,
  );
  for (const item of items) assert.equal(item.attributes.service, KEYRING_SERVICE);

  const tokens = JSON.parse(items.find((item) => item.attributes.username === TOKENS_USER).secret);
  assert.equal(typeof tokens.access_token, "string");
  assert.ok(tokens.access_token.length >= 16, "access token looks empty");
  assert.equal(typeof tokens.refresh_token, "string");
  assert.ok(tokens.expires_at > Date.now() / 1000, "access token already expired");
});

e2eTest("no secret reaches the DOM, IPC responses, logs or the database", current, async () => {
  // Exercise the UI so every view asks the backend again, then call the read commands directly.
  await showSettings(browser);
  await showConnections(browser);
  await byTestId(browser, "member-id").waitForExist({ timeout: 15_000 });
  await browser.execute(() => {
    for (const details of document.querySelectorAll("details")) details.open = true; // history
  });
  const direct = await browser.executeAsync((done) => {
    const invoke = window.__TAURI_INTERNALS__.invoke;
    invoke("list_connections", {}).then(async (views) => {
      const provider = views[0].provider; // as the backend spells it
      const results = await Promise.allSettled([
        invoke("member_overview", {}),
        invoke("get_provider_settings", { provider }),
        invoke("history", { provider }),
      ]);
      done(results.map((r) => (r.status === "fulfilled" ? "ok" : JSON.stringify(r.reason))));
    }, (error) => done([JSON.stringify(error)]));
  });
  assert.deepEqual(direct, ["ok", "ok", "ok"], "the read commands should all answer");

  // Read the secrets now: a refresh may have rotated them since the previous test.
  assert.deepEqual(await leakedSecrets(browser, secretsFromKeyring()), [], "secrets leaked");
});
