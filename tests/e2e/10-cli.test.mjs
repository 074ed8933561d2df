// The `datalinks` command over the same crates: connect through the system browser (loopback)
// against the built-in sandbox, then `status`, which must show the account and never a secret;
// Open Collective too, whose sandbox registers the loopback callback the command listens on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import {
  CLI, TMP, browserRuns, setBrowserMode, secretsFromKeyring, freePort, startStandaloneSandbox, standaloneCredentials,
} from "./harness.mjs";

const env = { ...process.env, DATALINKS_DATA_DIR: path.join(TMP, "cli-data") };

function runCli(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`datalinks ${args.join(" ")} did not finish in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test("datalinks connect openhumans --sandbox, then status shows the account and no secret", async () => {
  setBrowserMode("allow");
  const runsBefore = browserRuns().length;
  const connect = await runCli(["connect", "openhumans", "--sandbox"], 60_000);
  assert.equal(connect.code, 0, `connect failed: ${connect.stderr}`);
  assert.ok(browserRuns().length > runsBefore, "the system browser (the fake one) was opened");
  assert.match(connect.stdout, /Open Humans \[sandbox\]: connected \(connection \d+\)/);

  const status = spawnSync(CLI, ["status", "--json"], { env, encoding: "utf8", timeout: 20_000 });
  assert.equal(status.status, 0, status.stderr);
  const overview = JSON.parse(status.stdout);
  assert.match(overview.secret_location, /keyring/i);
  const openHumans = overview.providers.find((entry) => entry.provider === "openhumans");
  assert.equal(openHumans.connections.length, 1, status.stdout);
  const [view] = openHumans.connections;
  assert.equal(view.state.kind, "connected");
  assert.equal(view.registration.sandbox, true);
  assert.match(view.account.account_id, /^\d{8}$/);
  assert.deepEqual(openHumans.sign_ins.map((signIn) => signIn.registration.sandbox), [true]);

  const text = spawnSync(CLI, ["status"], { env, encoding: "utf8", timeout: 20_000 });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^Open Humans \\[sandbox\\]: connected \\(connection ${view.id}\\)$`, "m"));
  assert.match(text.stdout, new RegExp(`^  account: ${view.account.account_id} \\(alice\\)$`, "m"));
  // A reader that has gone away (a closed pipe) ends the command quietly.
  const piped = spawnSync("sh", ["-c", `"${CLI}" status | true`], { env, encoding: "utf8", timeout: 20_000 });
  assert.equal(piped.stderr, "");
  const secrets = secretsFromKeyring();
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(secret && secret.length >= 20, `${name} read from the keyring`);
    for (const [what, output] of [["connect", connect.stdout + connect.stderr], ["status --json", status.stdout], ["status", text.stdout]]) {
      assert.ok(!output.includes(secret), `the ${name} appeared in the output of datalinks ${what}`);
    }
  }
});

test("datalinks connect opencollective --sandbox on a fixed loopback port, then oc me", async () => {
  setBrowserMode("allow ada");
  const connect = await runCli(["connect", "opencollective", "--sandbox"], 60_000);
  assert.equal(connect.code, 0, `connect failed: ${connect.stderr}`);
  assert.match(connect.stdout, /Open Collective \[sandbox\]: connected/);
  const run = browserRuns().at(-1);
  assert.match(run.callback, /^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/, JSON.stringify(run));

  const me = spawnSync(CLI, ["oc", "me", "--json"], { env, encoding: "utf8", timeout: 20_000 });
  assert.equal(me.status, 0, me.stderr);
  assert.equal(JSON.parse(me.stdout).account.slug, "ada");
  // --account picks one of several accounts by its username; a name no account has is refused.
  const chosen = spawnSync(CLI, ["oc", "me", "--json", "--account", "ada"], { env, encoding: "utf8", timeout: 20_000 });
  assert.equal(chosen.status, 0, chosen.stderr);
  assert.equal(JSON.parse(chosen.stdout).account.slug, "ada");
  const unknown = spawnSync(CLI, ["oc", "me", "--account", "nobody"], { env, encoding: "utf8", timeout: 20_000 });
  assert.notEqual(unknown.status, 0);
  setBrowserMode("allow");
});

test("datalinks connect fails clearly when nothing is configured", async () => {
  const bare = { ...env, DATALINKS_DATA_DIR: path.join(TMP, "cli-empty") };
  const result = spawnSync(CLI, ["connect", "openhumans"], { env: bare, encoding: "utf8", timeout: 20_000 });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /not set up yet.*(Settings|sandbox)/);
});

test("datalinks sandbox serves all three providers; connect opencollective is set up from flags and variables alone", async () => {
  const loopbackPort = await freePort();
  const { child, stdout } = await startStandaloneSandbox(["--oc-callback-url", `http://127.0.0.1:${loopbackPort}/callback`]);
  try {
    const sites = [...stdout.matchAll(/sandbox at (http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]);
    assert.equal(new Set(sites).size, 3, stdout);
    for (const site of sites) {
      const answer = await fetch(site);
      assert.ok(answer.status < 500, `${site} answers (${answer.status})`);
    }
    const { address: ocSite, clientId, clientSecret } = standaloneCredentials(stdout, "Open Collective");

    setBrowserMode("allow ada");
    const dataDir = path.join(TMP, "cli-flags-data");
    const connect = spawnSync(
      CLI,
      ["connect", "opencollective", "--base-url", ocSite, "--api-url", ocSite, "--client-id", clientId],
      {
        env: { ...env, DATALINKS_DATA_DIR: dataDir, DATALINKS_OC_CLIENT_SECRET: clientSecret, DATALINKS_OC_LOOPBACK_PORT: String(loopbackPort) },
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    assert.equal(connect.status, 0, `connect failed: ${connect.stderr}`);
    assert.match(connect.stdout, /Open Collective: connected/);
    assert.match(browserRuns().at(-1).callback, new RegExp(`^http://127\\.0\\.0\\.1:${loopbackPort}/callback\\?code=`));
    const me = spawnSync(CLI, ["oc", "me", "--json"], { env: { ...env, DATALINKS_DATA_DIR: dataDir }, encoding: "utf8", timeout: 20_000 });
    assert.equal(me.status, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).account.slug, "ada");
    assert.ok(!connect.stdout.includes(clientSecret) && !connect.stderr.includes(clientSecret), "the secret is never printed back");
  } finally {
    setBrowserMode("allow");
    child.kill("SIGINT");
  }
});
