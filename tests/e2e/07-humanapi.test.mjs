// Human API on the app's sandbox: Connect opens in its own window, which has no Tauri
// capability; the person connects a source in the Connect stand-in and closes it; the result
// reaches Rust only through the intercepted navigation, and the app lists the source. Every IPC
// call from the Connect window is refused.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startApp, e2eTest, byTestId, allByTestId, showConnections, startIpcRecording, secretsFromKeyring,
  leakedSecrets,
} from "./harness.mjs";

let browser;
let mainWindow;
const current = () => browser;
const card = () => byTestId(browser, "connection-humanapi");

before(async () => {
  browser = await startApp();
  mainWindow = await browser.getWindowHandle();
});

after(async () => {
  await browser?.deleteSession();
});

async function switchToConnectWindow() {
  await browser.waitUntil(async () => (await browser.getWindowHandles()).length > 1, {
    timeout: 20_000, timeoutMsg: "no Connect window opened",
  });
  const other = (await browser.getWindowHandles()).find((handle) => handle !== mainWindow);
  await browser.switchToWindow(other);
}

e2eTest("Connect opens in its own window; a source connected there is listed by the app", current, async () => {
  await showConnections(browser);
  await startIpcRecording(browser);
  await card().waitForExist({ timeout: 10_000 });
  const connect = byTestId(browser, "connect-humanapi");
  await connect.scrollIntoView({ block: "center" });
  await connect.waitForClickable({ timeout: 10_000 });
  await connect.click();
  await switchToConnectWindow();

  // The stand-in's page is framed, as Human API's Connect page is.
  await browser.waitUntil(async () => (await browser.$$("iframe")).length > 0, {
    timeout: 20_000, timeoutMsg: "the Connect frame never appeared",
  });
  await browser.switchToFrame(await browser.$("iframe"));
  const connectSource = byTestId(browser, "hc-connect-source");
  await connectSource.waitForClickable({ timeout: 20_000 });
  await connectSource.click();
  await byTestId(browser, "hc-disconnect-source").waitForExist({ timeout: 10_000 });
  await byTestId(browser, "hc-close").click();

  await browser.switchToWindow(mainWindow);
  await browser.waitUntil(async () => (await allByTestId(browser, "hapi-linked-source")).length > 0, {
    timeout: 30_000, timeoutMsg: "the app never listed the connected source",
  });
});

e2eTest("every IPC call from the Connect window is refused", current, async () => {
  await byTestId(browser, "hapi-open-connect").click();
  await switchToConnectWindow();
  const outcomes = await browser.executeAsync((done) => {
    const internals = window.__TAURI_INTERNALS__;
    if (!internals || typeof internals.invoke !== "function") {
      done(["no IPC bridge in this window"]);
      return;
    }
    const calls = [
      ["list_connections", {}],
      ["get_provider_settings", { provider: "humanapi" }],
      ["project_stats", {}],
      ["plugin:opener|open_url", { url: "https://example.org" }],
    ];
    Promise.allSettled(calls.map(([command, args]) => internals.invoke(command, args)))
      .then((results) => done(results.map((r) => (r.status === "fulfilled" ? "ALLOWED" : `refused: ${JSON.stringify(r.reason)}`))));
  });
  assert.ok(outcomes.every((outcome) => !outcome.startsWith("ALLOWED")), JSON.stringify(outcomes));
  console.log(`# Connect window IPC: ${JSON.stringify(outcomes)}`);
  // Close Connect as the person does, from its own Close button.
  await browser.switchToFrame(await browser.$("iframe"));
  await byTestId(browser, "hc-close").click();
  await browser.switchToWindow(mainWindow);
});

e2eTest("no Human API secret (client secret, access token) reaches the DOM, IPC, logs or the database", current, async () => {
  // The linked source's data is shown, so an access token has been minted into the keyring.
  await byTestId(browser, "hapi-profile").waitForExist({ timeout: 20_000 });
  const secrets = secretsFromKeyring();
  assert.ok(Object.keys(secrets).some((name) => name.startsWith("humanapi/tokens")), Object.keys(secrets).join(", "));
  assert.deepEqual(await leakedSecrets(browser, secrets), [], "secrets leaked");
});
