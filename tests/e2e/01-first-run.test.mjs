// First run on the sandbox over the loopback redirect, then where the secrets went.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  KEYRING_SERVICE, TOKENS_USER, keyringName,
  startApp, e2eTest, byTestId, allByTestId, waitForCardState, showConnections, showSettings,
  setBrowserMode, browserRuns, waitForBrowserRun, keyringItems, secretsFromKeyring,
  startIpcRecording, leakedSecrets, connectButton, cards,
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
  // The sandbox is a setup of its own: its sign-in is labelled, the person's own app is untouched.
  const connect = connectButton(browser, "openhumans", { sandbox: true });
  await connect.waitForClickable({ timeout: 15_000 });
  assert.equal(await connect.getText(), "Connect");
  assert.equal(await byTestId(browser, "try-sandbox").isExisting(), false, "the first-run offer is gone once the sandbox is set up");

  const runsBefore = browserRuns().length;
  await connect.click();
  await waitForCardState(browser, "connected");

  const run = await waitForBrowserRun(runsBefore);
  assert.equal(run.steps.at(-1), "authorize", `fake browser: ${JSON.stringify(run)}`);
  assert.equal(run.delivered_by, "http-get", `redirect should go to the loopback listener: ${run.callback}`);
  assert.match(run.callback, /^http:\/\/127\.0\.0\.1:\d+\/.*[?&]code=/);
  assert.equal(run.callback_status, 200);

  const [card] = await cards(browser);
  assert.equal(card.sandbox, true, "the card is the sandbox's connection");
  await byTestId(browser, "member-id").waitForExist({ timeout: 15_000 });
  const memberId = (await byTestId(browser, "member-id").getText()).trim();
  assert.match(memberId, /^\d{8}$/);
  assert.equal(card.account, `alice (${memberId})`);
  assert.equal(await connectButton(browser, "openhumans", { sandbox: true }).getText(), "Connect another account");
  assert.ok((await allByTestId(browser, "file-group").length) > 0, "no file-group shown");
  assert.ok((await allByTestId(browser, "file-row").length) > 0, "no file-row shown");
  assert.match(await byTestId(browser, "secret-location").getText(), /keyring|secret service/i);
});

e2eTest("the tokens and the client secrets are in the OS keyring", current, () => {
  const items = keyringItems();
  const users = items.map((item) => item.attributes.username);
  const named = (pattern) => users.filter((user) => pattern.test(user));
  // The sandbox sets up Human API and Open Collective too, so their client secrets are there as well:
  // one per registration, named by its fingerprint; the tokens by fingerprint and account.
  const secrets = ["openhumans", "opencollective", "humanapi"].map((provider) => named(keyringName(provider, "client_secret")));
  assert.deepEqual(secrets.map((found) => found.length), [1, 1, 1], `keyring items: ${users.join(", ")}`);
  assert.equal(named(TOKENS_USER).length, 1, `keyring items: ${users.join(", ")}`);
  assert.equal(items.length, 4, `exactly 3 client secrets and 1 token set: ${users.join(", ")}`);
  const fingerprints = secrets.flat().map((user) => user.split("/")[1]);
  for (const fingerprint of fingerprints) assert.match(fingerprint, /^[0-9a-f]{16}$/);
  assert.equal(new Set(fingerprints).size, 3, "each provider's registration has its own fingerprint");
  const [, tokenFingerprint, account] = TOKENS_USER.exec(named(TOKENS_USER)[0]);
  assert.equal(tokenFingerprint, named(keyringName("openhumans", "client_secret"))[0].split("/")[1],
    "the tokens belong to the Open Humans sandbox registration");
  assert.match(account, /^\d{8}$/, "the account is alice's project member id");
  for (const item of items) assert.equal(item.attributes.service, KEYRING_SERVICE);

  const tokens = JSON.parse(items.find((item) => TOKENS_USER.test(item.attributes.username)).secret);
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
    invoke("list_connections", {}).then(async (overview) => {
      const { provider, connections } = overview.providers[0]; // as the backend spells it
      const connection = connections[0].id;
      const results = await Promise.allSettled([
        invoke("member_overview", { connection }),
        invoke("get_provider_settings", { provider }),
        invoke("history", { connection }),
      ]);
      done(results.map((r) => (r.status === "fulfilled" ? "ok" : JSON.stringify(r.reason))));
    }, (error) => done([JSON.stringify(error)]));
  });
  assert.deepEqual(direct, ["ok", "ok", "ok"], "the read commands should all answer");

  // Read the secrets now: a refresh may have rotated them since the previous test.
  assert.deepEqual(await leakedSecrets(browser, secretsFromKeyring()), [], "secrets leaked");
});
