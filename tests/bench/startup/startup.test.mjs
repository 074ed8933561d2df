// Start-up and idle figures of the app beside a bare WebKitGTK window (Debian's MiniBrowser on a
// data: page), both started the same way, as a desktop starts them:
// - start: from spawning the binary to its first window being mapped (xdotool, by the window's
//   process id), which is when its first pixels can show;
// - idle memory: PSS from /proc/<pid>/smaps_rollup summed over the binary and the WebKit
//   processes it started, after 10 s of rest;
// - wake-ups: context switches of every thread of those processes over 30 s of rest, with the
//   busiest threads named.
// Prints figures; not a timed test. Run by tests/bench/startup.sh.
import { test } from "node:test";
import fs from "node:fs";
import { spawn, spawnSync, execFile } from "node:child_process";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const APP = process.env.DATALINKS_APP;
const MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
const PAGE = "data:text/html,<title>reference</title><p id=ready>ready</p>";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a window of process `pid` is mapped now. */
const mapped = (pid) =>
  new Promise((resolve) => execFile("xdotool", ["search", "--onlyvisible", "--pid", String(pid)], (error) => resolve(!error)));

/**
 * Spawns `binary` and resolves once a window of its process is mapped, asking every 10 ms
 * (xdotool's own --sync asks only every 500 ms).
 */
async function start(binary, args) {
  // A copy still running would take the new one's window (GApplication hands over and quits).
  spawnSync("pkill", ["-KILL", "-f", binary]);
  await sleep(500);
  const started = performance.now();
  const child = spawn(binary, args, { stdio: "ignore" });
  while (!(await mapped(child.pid))) {
    if (performance.now() - started > 30_000) throw new Error(`${binary} mapped no window in 30 s`);
    await sleep(10);
  }
  return { child, ms: performance.now() - started };
}

async function stop(child) {
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(5000)]);
  child.kill("SIGKILL");
}

/** Every process whose parent chain leads to a process running `binary`. */
function processTree(binary) {
  const parents = new Map();
  const commands = new Map();
  for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      parents.set(pid, stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      commands.set(pid, fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]);
    } catch {
      // Gone meanwhile.
    }
  }
  const roots = [...commands].filter(([, command]) => command === binary).map(([pid]) => pid);
  const tree = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree].map((pid) => ({ pid, command: commands.get(pid) }));
}

function pssKiB(pid) {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
}

/** Context switches of each thread now: `pid/tid` -> {name, count}. */
function switches(tree) {
  const counts = new Map();
  for (const { pid, command } of tree) {
    let tids = [];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
        const name = `${command.split("/").pop()}:${/^Name:\s+(.*)$/m.exec(status)[1]}`;
        const count = ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
          .map((field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)[1]))
          .reduce((a, b) => a + b);
        counts.set(`${pid}/${tid}`, { name, count });
      } catch {
        // Thread ended.
      }
    }
  }
  return counts;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function measure(name, binary, args) {
  const starts = [];
  const memory = [];
  for (let run = 0; run < RUNS; run += 1) {
    const { child, ms } = await start(binary, args);
    starts.push(ms);
    await sleep(10_000);
    memory.push(processTree(binary).reduce((sum, { pid }) => sum + pssKiB(pid), 0));
    if (run === RUNS - 1) {
      const tree = processTree(binary);
      const before = switches(tree);
      await sleep(30_000);
      const after = switches(tree);
      // Threads alive at both readings; one that started meanwhile counts from zero.
      const woke = [...after].map(([key, { name, count }]) => [name, count - (before.get(key)?.count ?? 0)]);
      const total = woke.reduce((sum, [, count]) => sum + count, 0);
      const busiest = woke.sort((a, b) => b[1] - a[1]).slice(0, 4).map(([thread, count]) => `${thread} ${count}`);
      console.log(`${name}: wake-ups over 30 s idle: ${total} (busiest: ${busiest.join(", ")})`);
    }
    await stop(child);
    await sleep(1000);
  }
  const round = (values) => values.map((v) => Math.round(v)).join(" ");
  console.log(`${name}: start to its window mapped: median ${Math.round(median(starts))} ms (runs: ${round(starts)})`);
  console.log(`${name}: idle PSS, all processes: median ${(median(memory) / 1024).toFixed(0)} MiB (runs: ${round(memory.map((kib) => kib / 1024))})`);
  return { start: median(starts), pss: median(memory) };
}

test("start-up and idle, the app beside a bare WebKitGTK window", async () => {
  const reference = await measure("bare WebKitGTK (MiniBrowser)", MINIBROWSER, [PAGE]);
  const app = await measure("Datalinks, first run", APP, []);
  console.log(
    `ratio app/reference: start ${(app.start / reference.start).toFixed(2)}x, idle PSS ${(app.pss / reference.pss).toFixed(2)}x`,
  );
});
