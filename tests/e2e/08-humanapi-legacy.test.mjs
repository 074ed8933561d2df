// Human API's legacy 1.x flow as a provider option: the person turns it on in Settings, Connect
// 1.x opens in the Connect window, and when they finish, Rust signs the session token object with
// the client secret and finalizes it; the public token and the legacy access token go to the
// keyring, and the app lists the source through the Data API.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startApp, e2eTest, byTestId, allByTestId, showConnections, showSettings, keyringName, keyringSecret,
  startIpcRecording, secretsFromKeyring, leakedSecrets,
  waitForCardState, disconnectFromUi, switchToConnectWindow, enterConnectFrame, cardState, connectASourceAndClose,
} from "./harness.mjs";

let browser;
let mainWindow;
const current = () => browser;
const hapiSettings = (id) => browser.$(`[data-testid="settings-humanapi"] [data-testid="${id}"]`);

const waitForHapiState = (wanted, timeout = 20_000) => waitForCardState(browser, wanted, timeout, "humanapi");

before(async () => {
  browser = await startApp();
  mainWindow = await browser.getWindowHandle();
});

after(async () => {
  await browser?.deleteSession();
});

e2eTest("the legacy flow is turned on in Settings after disconnecting", current, async () => {
  await showConnections(browser);
  await byTestId(browser, "sign-in-humanapi").waitForExist({ timeout: 10_000 });
  if ((await cardState(browser, "humanapi")) !== "disconnected") {
    await disconnectFromUi(browser, "humanapi");
    await waitForHapiState("disconnected");
  }
  await showSettings(browser);
  const legacy = hapiSettings("hapi-legacy-flow");
  await legacy.waitForExist({ timeout: 10_000 });
  await legacy.scrollIntoView({ block: "center" });
  assert.equal(await legacy.isSelected(), false);
  await legacy.click();
  const save = hapiSettings("save-settings");
  await save.scrollIntoView({ block: "center" });
  await save.click();
  await browser.$('[data-testid="settings-humanapi"] [role="status"]').waitForExist({ timeout: 10_000 });
});

e2eTest("Connect 1.x opens in the Connect window and finishing it links the person", current, async () => {
  await showConnections(browser);
  await startIpcRecording(browser);
  const connect = byTestId(browser, "connect-humanapi");
  await connect.scrollIntoView({ block: "center" });
  await connect.waitForClickable({ timeout: 10_000 });
  await connect.click();
  await switchToConnectWindow(browser, mainWindow);
  await enterConnectFrame(browser);
  assert.equal(await byTestId(browser, "hc-status").getAttribute("data-status"), "SUCCESS");
  await connectASourceAndClose(browser);

  await browser.switchToWindow(mainWindow);
  await waitForHapiState("connected", 30_000);
  await browser.waitUntil(async () => (await allByTestId(browser, "hapi-linked-source")).length > 0, {
    timeout: 30_000, timeoutMsg: "the app never listed the connected source",
  });
  // The legacy access token reads the Data API.
  await byTestId(browser, "hapi-profile").waitForExist({ timeout: 20_000 });
  assert.ok(keyringSecret(keyringName("humanapi", "public_token")), "the public token is kept in the keyring");
  assert.ok(keyringSecret(keyringName("humanapi", "tokens")), "the legacy access token is kept in the keyring");
  assert.equal((await browser.getWindowHandles()).length, 1, "finishing closed the Connect window");
});

e2eTest("no legacy secret (public token, access token, client secret) reaches the DOM, IPC, logs or the database", current, async () => {
  const secrets = secretsFromKeyring();
  const publicToken = keyringName("humanapi", "public_token");
  assert.ok(Object.keys(secrets).some((name) => publicToken.test(name)), Object.keys(secrets).join(", "));
  assert.deepEqual(await leakedSecrets(browser, secrets), [], "secrets leaked");
});
