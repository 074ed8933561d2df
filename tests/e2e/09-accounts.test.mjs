// Several accounts of one provider. The person's own Open Humans app (a standalone sandbox with
// two members, `datalinks sandbox`, standing in for a self-hosted server) is set up in Settings
// beside the built-in sandbox, whose one member (alice) 04 connected: two accounts connect through
// the own app, each gets its own card, and disconnecting one leaves the other connected. The
// built-in sandbox seeds a single Open Humans member, so it cannot give a second account itself.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  TOKENS_USER, keyringName, keyringMatching, startApp, e2eTest, byTestId, allByTestId, showConnections,
  showSettings, setBrowserMode, browserRuns, waitForBrowserRun, disconnectFromUi, cards, card, connectButton,
  snapshot, startStandaloneSandbox, standaloneCredentials,
} from "./harness.mjs";

const SECOND_MEMBER = "member00002";

let browser;
let standalone;
let server;
const current = () => browser;

before(async () => {
  standalone = await startStandaloneSandbox(["--members", "2", "--files-per-member", "3"]);
  standalone = { ...standalone, ...standaloneCredentials(standalone.stdout, "Open Humans") };
  server = standalone.address;
  browser = await startApp();
});

after(async () => {
  setBrowserMode("allow");
  await browser?.deleteSession();
  standalone?.child.kill("SIGINT");
});

/** The own app's cards (not the built-in sandbox's). */
async function ownCards() {
  return (await cards(browser)).filter((entry) => !entry.sandbox);
}

async function connectOwnAccount(user) {
  setBrowserMode(`allow ${user}`);
  const before = (await ownCards()).length;
  const runsBefore = browserRuns().length;
  const connect = connectButton(browser, "openhumans", { sandbox: false });
  await connect.scrollIntoView({ block: "center" });
  await connect.waitForClickable({ timeout: 10_000 });
  await connect.click();
  const run = await waitForBrowserRun(runsBefore);
  assert.deepEqual(run.steps, ["login", "authorize"], JSON.stringify(run));
  await browser.waitUntil(async () => (await ownCards()).length > before, {
    timeout: 45_000, timeoutMsg: `no card appeared for ${user}; fake browser: ${JSON.stringify(run)}`,
  });
}

e2eTest("the person's own app is set up in its Settings tab, beside the built-in sandbox", current, async () => {
  await showSettings(browser);
  const form = () => byTestId(browser, "settings-openhumans");
  // With only the sandbox set up, its tab is the one shown.
  assert.equal(await form().getAttribute("data-sandbox"), "true");
  await byTestId(browser, "settings-tab-own-openhumans").click();
  await browser.waitUntil(async () => (await form().getAttribute("data-sandbox")) === "false", {
    timeout: 5_000, timeoutMsg: "the own app's form did not open",
  });
  await form().$('[data-testid="client-id"]').setValue(standalone.clientId);
  await form().$('[data-testid="client-secret"]').setValue(standalone.clientSecret);
  await form().$('[data-testid="base-url"]').setValue(server);
  await form().$('[data-testid="transport"]').selectByAttribute("value", "loopback");
  const save = form().$('[data-testid="save-settings"]');
  await save.scrollIntoView({ block: "center" });
  await save.click();
  await form().$('[role="status"]').waitForExist({ timeout: 10_000, timeoutMsg: "the own app's settings were not saved" });
  assert.equal(await form().$('[data-testid="client-secret"]').getValue(), "", "the secret field is emptied");
  assert.equal(await byTestId(browser, "settings-tab-own-openhumans").getAttribute("aria-selected"), "true");

  // Which accounts belong to which setup: the own app has none yet, the sandbox has alice.
  const setups = [];
  for (const listing of await browser.$$('[data-testid="registrations-openhumans"] [data-testid="registration-listing"]')) {
    setups.push([await listing.getAttribute("data-sandbox"), await listing.getText()]);
  }
  assert.equal(setups.length, 2, JSON.stringify(setups));
  const own = setups.find(([sandbox]) => sandbox === "false");
  const sandbox = setups.find(([sandbox]) => sandbox === "true");
  assert.match(own[1], new RegExp(`${server.replace(/[.]/g, "\\.")}[\\s\\S]*No account connected`));
  assert.match(sandbox[1], /built-in sandbox[\s\S]*alice/);
  await snapshot(browser, "settings-tabs", '[data-testid="provider-settings-openhumans"]');
});

e2eTest("two accounts connect through the own app, each with its own card", current, async () => {
  await showConnections(browser);
  const signIns = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="sign-in-openhumans"]')].map((signIn) => signIn.dataset.sandbox),
  );
  assert.deepEqual(signIns, ["false", "true"], "the person's own app first, then the sandbox");
  assert.equal(await connectButton(browser, "openhumans", { sandbox: false }).getText(), "Connect");

  await connectOwnAccount("alice");
  assert.equal(await connectButton(browser, "openhumans", { sandbox: false }).getText(), "Connect another account");
  await connectOwnAccount(SECOND_MEMBER);

  const own = await ownCards();
  assert.equal(own.length, 2, JSON.stringify(own));
  assert.deepEqual(own.map((entry) => entry.state), ["connected", "connected"]);
  assert.match(own[0].account, /^alice \(\d{8}\)$/);
  assert.match(own[1].account, new RegExp(`^${SECOND_MEMBER} \\(\\d{8}\\)$`));
  assert.notEqual(own[0].connection, own[1].connection);
  // The built-in sandbox's alice is still there, a connection of its own.
  assert.equal((await cards(browser)).filter((entry) => entry.sandbox).length, 1);

  // Each card reads its own member's data.
  for (const entry of own) {
    const memberId = card(browser, "openhumans", entry.connection).$('[data-testid="member-id"]');
    await browser.waitUntil(async () => entry.account.includes(`(${(await memberId.getText()).trim()})`), {
      timeout: 15_000, timeoutMsg: `${entry.account}'s card shows another member`,
    });
  }
  assert.equal(keyringMatching(TOKENS_USER).length, 3, "one token set per account");
  await snapshot(browser, "two-accounts", '[data-testid="provider-openhumans"]');
  await snapshot(browser, "two-accounts-own-cards", `[data-testid="connection-openhumans"][data-connection="${own[0].connection}"]`);
});

e2eTest("disconnecting one account leaves the other connected, showing its member view", current, async () => {
  const [alice, second] = await ownCards();
  await disconnectFromUi(browser, "openhumans", second.connection);
  const receipt = byTestId(browser, "provider-openhumans").$('[data-testid="receipt"]');
  await receipt.waitForExist({ timeout: 20_000 });
  assert.ok((await receipt.getText()).includes(`${second.account} on Open Humans`), await receipt.getText());
  await browser.waitUntil(async () => (await ownCards()).length === 1, {
    timeout: 15_000, timeoutMsg: "the disconnected account's card is still shown",
  });

  const [left] = await ownCards();
  assert.equal(left.connection, alice.connection);
  assert.equal(left.state, "connected");
  const kept = card(browser, "openhumans", alice.connection);
  const fileCount = kept.$('[data-testid="file-count"]');
  await fileCount.waitForExist({ timeout: 15_000 });
  await browser.waitUntil(async () => /^\d+$/.test((await fileCount.getText()).trim()), {
    timeout: 15_000, timeoutMsg: "the remaining card's member view did not load",
  });
  assert.ok(alice.account.includes(`(${(await kept.$('[data-testid="member-id"]').getText()).trim()})`));

  // Only the disconnected account's tokens left the keyring; the own app keeps its secret.
  const tokens = keyringMatching(TOKENS_USER).map((item) => item.attributes.username);
  assert.equal(tokens.length, 2, tokens.join(", "));
  const secrets = keyringMatching(keyringName("openhumans", "client_secret")).map((item) => item.attributes.username);
  assert.equal(secrets.length, 2, `the sandbox's and the own app's client secrets: ${secrets}`);
  const fingerprints = new Set(tokens.map((name) => name.split("/")[1]));
  assert.deepEqual([...fingerprints].sort(), secrets.map((name) => name.split("/")[1]).sort(),
    "the remaining token sets belong to the two registrations, one each");
});

e2eTest("a server that refuses datalinks:// is named while waiting, and one click signs in on the local address", current, async () => {
  // The own server, like Open Humans, allows no custom scheme: its page would say "Bad Request (400)".
  await showSettings(browser);
  await byTestId(browser, "settings-tab-own-openhumans").click();
  const form = () => byTestId(browser, "settings-openhumans");
  await browser.waitUntil(async () => (await form().getAttribute("data-sandbox")) === "false", { timeout: 5_000 });
  await form().$('[data-testid="transport"]').selectByAttribute("value", "deep_link");
  const save = form().$('[data-testid="save-settings"]');
  await save.scrollIntoView({ block: "center" });
  await save.click();
  await form().$('[role="status"]').waitForExist({ timeout: 10_000, timeoutMsg: "the deep-link transport was not saved" });
  await showConnections(browser);

  setBrowserMode("allow alice");
  const runsBefore = browserRuns().length;
  const [alice] = await ownCards();
  const connect = connectButton(browser, "openhumans", { sandbox: false });
  await connect.scrollIntoView({ block: "center" });
  await connect.click();
  const own = browser.$('[data-testid="sign-in-openhumans"][data-sandbox="false"]');
  const hint = own.$('[data-testid="waiting-hint"]');
  await hint.waitForExist({ timeout: 15_000, timeoutMsg: "the waiting panel named no reason to worry" });
  assert.match(await hint.getText(), /Bad Request \(400\)/);
  const refused = await waitForBrowserRun(runsBefore);
  assert.match(refused.error ?? "", /HTTP 400/, `the server refused the redirect: ${JSON.stringify(refused)}`);
  await hint.scrollIntoView({ block: "center" });
  await snapshot(browser, "waiting-hint-deep-link-refused", '[data-testid="sign-in-openhumans"][data-sandbox="false"]');

  await hint.$('[data-testid="use-loopback"]').click();
  const run = await waitForBrowserRun(runsBefore + 1);
  assert.match(run.callback, /^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/, JSON.stringify(run));
  await browser.waitUntil(async () => (await own.getAttribute("data-state")) === "ready", {
    timeout: 30_000, timeoutMsg: "the sign-in on the local address did not end",
  });
  const after = await ownCards();
  assert.deepEqual(after.map((entry) => [entry.connection, entry.state]), [[alice.connection, "connected"]], "the same account, connected again");
  await showSettings(browser);
  await byTestId(browser, "settings-tab-own-openhumans").click();
  assert.equal(await form().$('[data-testid="transport"]').getValue(), "loopback", "the setup now uses the local address");
  await showConnections(browser);
});
