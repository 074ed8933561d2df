// The installed package, as a person's desktop sees it: its desktop entry claims datalinks://,
// and a link handed to the OS (gio open) starts the installed app with it, or reaches the
// running one through the single-instance plugin. tests/package/run.sh installs the package and
// runs this file in the end-to-end setup (DATALINKS_APP is /usr/bin/datalinks-app).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { appDataDir, filesUnder, gioOpen } from "../e2e/harness.mjs";

const PACKAGE = process.env.DATALINKS_PACKAGE_NAME;
const ARRIVED = "a deep link to datalinks://oauth/callback arrived from the OS";

const installedFiles = () => execFileSync("dpkg", ["--listfiles", PACKAGE], { encoding: "utf8" }).split("\n");
const desktopEntry = () => installedFiles().find((file) => /^\/usr\/share\/applications\/.+\.desktop$/.test(file));

/** How many deep links the installed app's log says arrived. */
function arrivals() {
  return filesUnder(path.join(appDataDir(), "logs"))
    .filter((file) => file.endsWith(".log"))
    .flatMap((file) => fs.readFileSync(file, "utf8").split("\n"))
    .filter((line) => line.includes(ARRIVED)).length;
}

async function waitFor(what, done, timeout = 30_000) {
  const until = Date.now() + timeout;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * `gio open` for a link whose app is not running: the app it starts inherits gio's standard
 * streams, so they are not ours to wait on; gio's own exit is.
 */
function gioOpenStarting(url) {
  const gio = spawn("gio", ["open", url], { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    gio.on("error", reject);
    gio.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`gio open exited ${code}`))));
  });
}

const appProcesses = () =>
  spawnSync("pgrep", ["-x", "datalinks-app"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);

after(() => {
  spawnSync("pkill", ["-x", "datalinks-app"]);
});

test("the package's desktop entry is the datalinks:// handler and passes the link on", () => {
  const entry = desktopEntry();
  assert.ok(entry, `the package installs a desktop entry: ${installedFiles().join(" ")}`);
  const text = fs.readFileSync(entry, "utf8");
  assert.match(text, /^Exec=datalinks-app %u$/m, "the link reaches the app as its argument");
  assert.match(text, /^MimeType=x-scheme-handler\/datalinks;$/m);
  const handler = execFileSync("xdg-mime", ["query", "default", "x-scheme-handler/datalinks"], { encoding: "utf8" }).trim();
  assert.equal(handler, path.basename(entry), "the OS resolves datalinks:// to the installed entry");
  assert.ok(installedFiles().includes("/usr/bin/datalinks"), "the CLI is installed beside the app");
});

test("a link given to the OS starts the installed app with it, then reaches the running app", async () => {
  assert.equal(appProcesses().length, 0, "no app runs yet");
  await gioOpenStarting("datalinks://oauth/callback?state=package-test-cold&code=unused");
  await waitFor("the cold-started app to log the link", () => arrivals() === 1);
  assert.equal(appProcesses().length, 1, "the OS started the installed app");

  gioOpen("datalinks://oauth/callback?state=package-test-running&code=unused");
  await waitFor("the running app to log the second link", () => arrivals() === 2);
  await waitFor("the second instance to hand the link over and quit", () => appProcesses().length === 1, 15_000);
});
