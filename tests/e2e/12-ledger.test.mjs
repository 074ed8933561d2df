// What I share, on the app's sandbox: with Open Humans and Open Collective connected, the
// consent ledger names what each granted and where its secrets are, and the audit log lists the
// requests made for each (the connect's among them), filters them, and holds no secret. No
// token or client secret reaches the DOM, IPC, logs or SQLite on the way.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startApp, e2eTest, byTestId, showConnections, setBrowserMode, cardState,
  connectButton, waitForCardState, startIpcRecording, leakedSecrets, secretsFromKeyring, snapshot,
} from "./harness.mjs";

let browser;
const current = () => browser;

before(async () => {
  browser = await startApp();
  await startIpcRecording(browser);
});

after(async () => {
  setBrowserMode("allow");
  await browser?.deleteSession();
});

/** Connects the provider's sandbox account unless a connection is already there. */
async function ensureConnected(provider, mode) {
  await showConnections(browser);
  if ((await cardState(browser, provider)) === "connected") return;
  setBrowserMode(mode);
  const connect = connectButton(browser, provider, { sandbox: true });
  await connect.waitForClickable({ timeout: 20_000 });
  await connect.scrollIntoView({ block: "center" });
  await connect.click();
  await waitForCardState(browser, "connected", 45_000, provider);
}

async function showPrivacy() {
  await byTestId(browser, "nav-privacy").click();
  await byTestId(browser, "consent-ledger").waitForExist({ timeout: 10_000 });
}

/** The ledger entry of the provider's first connection. */
async function ledgerEntry(provider) {
  const entry = browser.$(`[data-testid^="ledger-entry-${provider}-"]`);
  await entry.waitForExist({ timeout: 30_000, timeoutMsg: `no ${provider} entry in the ledger` });
  return entry;
}

e2eTest("the ledger names what each connection granted and where its secrets are", current, async () => {
  await ensureConnected("openhumans", "allow");
  await ensureConnected("opencollective", "allow ada");
  await showPrivacy();

  const oh = await ledgerEntry("openhumans");
  await browser.waitUntil(async () => /Sources shared with it/.test(await oh.getText()), {
    timeout: 20_000, timeoutMsg: "the Open Humans grants never arrived",
  });
  const ohText = await oh.getText();
  assert.match(ohText, /Project/);
  assert.doesNotMatch(ohText, /direct-sharing-\d+/, "sources are shown by name");
  assert.match(ohText, /an access token and a refresh token/);
  assert.match(ohText, /readable/);

  const oc = await ledgerEntry("opencollective");
  const ocText = await oc.getText();
  assert.match(ocText, /Account/);
  assert.match(ocText, /\bemail\b/, "the granted scope is listed");
  assert.match(ocText, /Revoke on Open Collective’s website/);
  await snapshot(browser, "ledger", '[data-testid="consent-ledger"]');
});

e2eTest("the audit log lists each connection's requests and filters them", current, async () => {
  await byTestId(browser, "tab-audit").click();
  await byTestId(browser, "audit-table").waitForExist({ timeout: 15_000 });
  // One round trip for every row: the log holds hundreds.
  const rows = () =>
    browser.execute(() => [...document.querySelectorAll('[data-testid="audit-row"]')].map((row) => row.innerText));
  const all = await rows();
  assert.ok(all.some((row) => /consent ledger/.test(row) && /Open Humans/.test(row)), "the ledger's own requests");
  assert.ok(all.some((row) => /Open Collective/.test(row)), "Open Collective's requests");
  assert.ok(all.every((row) => !/access_token=|code=|client_secret/.test(row)), "no secret parameter");
  await snapshot(browser, "audit-log", '[data-testid="audit-log"]');

  const action = byTestId(browser, "audit-action");
  await action.selectByVisibleText("connect");
  await browser.waitUntil(async () => (await rows()).every((row) => /\bconnect\b/.test(row)), {
    timeout: 10_000, timeoutMsg: "the action filter did not apply",
  });
  const connects = await rows();
  assert.ok(connects.length > 0, "the sign-ins' requests are logged as connect");
  assert.ok(connects.some((row) => /POST/.test(row) && /token/.test(row)), "the code exchange is among them");
});

e2eTest("no token or client secret reached the page, IPC, logs or the database", current, async () => {
  assert.deepEqual(await leakedSecrets(browser, secretsFromKeyring()), [], "secrets leaked");
});
