// Disconnecting: a receipt of what was done, and the tokens gone from the keyring.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  TOKENS_USER, startApp, e2eTest, byTestId, allByTestId, waitForCardState, showConnections,
  showSettings, setBrowserMode, keyringItems, keyringMatching, disconnectFromUi, cards,
} from "./harness.mjs";

let browser;
const current = () => browser;

before(async () => {
  browser = await startApp();
});

after(async () => {
  await browser?.deleteSession();
});

e2eTest("connect again over loopback", current, async () => {
  await showSettings(browser);
  await byTestId(browser, "transport").selectByAttribute("value", "loopback");
  await byTestId(browser, "save-settings").click();
  await browser.waitUntil(async () => (await byTestId(browser, "transport").getValue()) === "loopback", {
    timeout: 10_000, timeoutMsg: "transport did not stay loopback after saving",
  });
  await showConnections(browser);
  setBrowserMode("allow");
  await byTestId(browser, "connect-openhumans").click();
  await waitForCardState(browser, "connected");
  assert.equal(keyringMatching(TOKENS_USER).length, 1, "connected but no tokens in the keyring");
});

e2eTest("disconnect shows a receipt and removes the tokens from the keyring", current, async () => {
  const [{ account }] = await cards(browser);
  await disconnectFromUi(browser);
  const receipt = byTestId(browser, "provider-openhumans").$('[data-testid="receipt"]');
  await receipt.waitForExist({ timeout: 20_000 });
  const text = await receipt.getText();
  assert.ok(text.includes(`${account} on Open Humans`), `the receipt names the account: ${text}`);
  const outcomes = [];
  for (const step of await allByTestId(browser, "receipt-step")) {
    outcomes.push([await step.getAttribute("data-outcome"), await step.getText()]);
  }
  assert.ok(outcomes.length > 0, "the receipt has no steps");
  assert.ok(outcomes.some(([outcome]) => outcome === "done"), `no done step: ${JSON.stringify(outcomes)}`);
  assert.deepEqual(outcomes.filter(([outcome]) => outcome === "failed"), [], "failed receipt steps");
  await waitForCardState(browser, "disconnected", 10_000);
  assert.deepEqual(await cards(browser), [], "the card is gone");

  const users = keyringItems().map((item) => item.attributes.username);
  assert.ok(!users.some((user) => TOKENS_USER.test(user)), `keyring still lists tokens: ${users}`);
});
