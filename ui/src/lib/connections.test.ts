import { describe, expect, it } from "vitest";
import { overview, registration, signInView } from "../test/tauri";
import { connections } from "./connections.svelte";

describe("connections", () => {
  it("keeps the newer overview when an older one arrives after it", () => {
    // A command's answer made before a sign-in ended can reach the window after the event that
    // announced the end: the sign-in must not fall back to "waiting".
    const waiting = overview({
      openhumans: {
        sign_ins: [
          signInView(registration(), {
            kind: "waiting",
            authorize_url: "https://openhumans.example/authorize",
            transport: "loopback",
            expires_at: 0,
            reconnecting: null,
            hints: [],
          }),
        ],
        connections: [],
      },
    });
    const ended = overview({ openhumans: { sign_ins: [signInView()], connections: [] } });
    connections.apply(ended);
    connections.apply(waiting);
    expect(connections.providers[0].sign_ins[0].state.kind).toBe("ready");

    const later = overview({ openhumans: { sign_ins: [waiting.providers[0].sign_ins[0]], connections: [] } });
    connections.apply(later);
    expect(connections.providers[0].sign_ins[0].state.kind).toBe("waiting");
  });
});
