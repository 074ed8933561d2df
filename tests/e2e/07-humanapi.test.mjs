// Human API on the app's sandbox: Connect opens in its own window, which has no Tauri
// capability; the person connects a source in the Connect stand-in and closes it; the result
// reaches Rust only through the intercepted navigation, and the app lists the source. A report is
// saved through the system's save dialog. Every IPC call from the Connect window is refused, and
// closing that window from the window manager ends the attempt.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  startApp, e2eTest, byTestId, allByTestId, showConnections, startIpcRecording, secretsFromKeyring,
  leakedSecrets, x11Windows, chooseInDialog, closeLikeWindowManager, TMP,
  waitForCardState, switchToConnectWindow, enterConnectFrame, connectASourceAndClose, keyringName,
} from "./harness.mjs";

let browser;
let mainWindow;
const current = () => browser;

const waitForHapiState = (wanted, timeout = 20_000) => waitForCardState(browser, wanted, timeout, "humanapi");

before(async () => {
  browser = await startApp();
  mainWindow = await browser.getWindowHandle();
});

after(async () => {
  await browser?.deleteSession();
});

e2eTest("Connect opens in its own window; a source connected there is listed by the app", current, async () => {
  await showConnections(browser);
  await startIpcRecording(browser);
  await byTestId(browser, "sign-in-humanapi").waitForExist({ timeout: 10_000 });
  const connect = byTestId(browser, "connect-humanapi");
  await connect.scrollIntoView({ block: "center" });
  await connect.waitForClickable({ timeout: 10_000 });
  await connect.click();
  await switchToConnectWindow(browser, mainWindow);

  // The stand-in's page is framed, as Human API's Connect page is.
  await enterConnectFrame(browser);
  await connectASourceAndClose(browser);

  await browser.switchToWindow(mainWindow);
  await browser.waitUntil(async () => (await allByTestId(browser, "hapi-linked-source")).length > 0, {
    timeout: 30_000, timeoutMsg: "the app never listed the connected source",
  });
});

e2eTest("a report is saved as PDF where the person chooses in the system's save dialog", current, async () => {
  const save = byTestId(browser, "hapi-save-pdf");
  await save.waitForClickable({ timeout: 20_000 });
  await save.scrollIntoView({ block: "center" });
  await save.click();
  const dest = path.join(TMP, "chosen folder", "health-report.pdf");
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  chooseInDialog("^Save the report as PDF$", dest);
  const status = browser.$('[data-testid="hapi-report-row"] [role="status"]');
  await status.waitForExist({ timeout: 20_000 });
  const bytes = fs.statSync(dest).size;
  assert.equal(await status.getText(), `Saved ${bytes} bytes to ${dest}.`);
  assert.equal(fs.readFileSync(dest).subarray(0, 5).toString(), "%PDF-");
});

e2eTest("every IPC call from the Connect window is refused", current, async () => {
  await byTestId(browser, "hapi-open-connect").click();
  await switchToConnectWindow(browser, mainWindow);
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
  await enterConnectFrame(browser);
  await byTestId(browser, "hc-close").click();
  await browser.switchToWindow(mainWindow);
  // The attempt ends before the next test opens Connect again: until then the button is disabled
  // and a click on it would do nothing.
  await browser.waitUntil(async () => (await browser.getWindowHandles()).length === 1, {
    timeout: 20_000, timeoutMsg: "the Connect window stayed open after its Close button",
  });
  await waitForHapiState("connected");
});

e2eTest("closing the Connect window from the window manager ends the attempt", current, async () => {
  const open = byTestId(browser, "hapi-open-connect");
  await open.waitForClickable({ timeout: 20_000 });
  await open.click();
  await waitForHapiState("connect_window_open");
  const [connectWindow] = x11Windows("^Human API Connect$");
  closeLikeWindowManager(connectWindow);
  await browser.waitUntil(async () => (await browser.getWindowHandles()).length === 1, {
    timeout: 20_000, timeoutMsg: "the Connect window stayed open",
  });
  await waitForHapiState("connected");
});

e2eTest("no Human API secret (client secret, access token) reaches the DOM, IPC, logs or the database", current, async () => {
  // The linked source's data is shown, so an access token has been minted into the keyring.
  await byTestId(browser, "hapi-profile").waitForExist({ timeout: 20_000 });
  const secrets = secretsFromKeyring();
  const tokens = keyringName("humanapi", "tokens");
  assert.ok(Object.keys(secrets).some((name) => tokens.test(name.split(" ")[0])), Object.keys(secrets).join(", "));
  assert.deepEqual(await leakedSecrets(browser, secrets), [], "secrets leaked");
});
