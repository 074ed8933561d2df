// The `datalinks` command over the same crates: connect through the system browser (loopback)
// against the built-in sandbox, then `status`, which must show the account and never a secret;
// Open Collective too, whose sandbox registers the loopback callback the command listens on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { APP, TMP, browserRuns, setBrowserMode, secretsFromKeyring } from "./harness.mjs";

const CLI = path.join(path.dirname(APP), "datalinks");
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
  assert.match(connect.stdout, /Open Humans \[sandbox\]: connected/);

  const status = spawnSync(CLI, ["status", "--json"], { env, encoding: "utf8", timeout: 20_000 });
  assert.equal(status.status, 0, status.stderr);
  const [view] = JSON.parse(status.stdout);
  assert.equal(view.provider, "openhumans");
  assert.equal(view.state.kind, "connected");
  assert.match(view.account.account_id, /^\d{8}$/);
  assert.match(view.secret_location, /keyring/i);

  const text = spawnSync(CLI, ["status"], { env, encoding: "utf8", timeout: 20_000 });
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
  setBrowserMode("allow");
});

test("datalinks connect fails clearly when nothing is configured", async () => {
  const bare = { ...env, DATALINKS_DATA_DIR: path.join(TMP, "cli-empty") };
  const result = spawnSync(CLI, ["connect", "openhumans"], { env: bare, encoding: "utf8", timeout: 20_000 });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /not set up yet.*(Settings|sandbox)/);
});
