import { describe, expect, it } from "vitest";
import { answerCommands, callsOf } from "../test/tauri";
import { api, normalizeError } from "./api";

describe("normalizeError", () => {
  it("keeps a well-formed {code, message}", () => {
    expect(normalizeError({ code: "unreachable", message: "DNS failed" })).toEqual({
      code: "unreachable",
      message: "DNS failed",
    });
  });

  it("turns a bare string into an internal error carrying the text", () => {
    expect(normalizeError("command connect not found")).toEqual({
      code: "internal",
      message: "command connect not found",
    });
  });

  it("keeps the message of a JS Error and of an object with an unknown code", () => {
    expect(normalizeError(new TypeError("x is undefined"))).toEqual({
      code: "internal",
      message: "x is undefined",
    });
    expect(normalizeError({ code: "teapot", message: "short and stout" })).toEqual({
      code: "internal",
      message: "short and stout",
    });
  });

  it("gives a known code without a message a readable message", () => {
    expect(normalizeError({ code: "keyring_unavailable" })).toEqual({
      code: "keyring_unavailable",
      message: "keyring unavailable",
    });
  });

  it("never returns an empty message for null, numbers or empty strings", () => {
    for (const raw of [null, undefined, 42, "", {}]) {
      const error = normalizeError(raw);
      expect(error.code).toBe("internal");
      expect(error.message.length).toBeGreaterThan(0);
    }
  });
});

describe("api", () => {
  it("passes the sign-in target and rejects with a normalised error", async () => {
    answerCommands({
      connect: () => {
        throw "window closed";
      },
    });
    await expect(api.connect({ kind: "new_account", registration: 3 })).rejects.toEqual({
      code: "internal",
      message: "window closed",
    });
    expect(callsOf("connect")).toEqual([{ target: { kind: "new_account", registration: 3 } }]);
  });

  it("returns the command's result", async () => {
    answerCommands({
      history: () => [{ at: 1, provider: "openhumans", registration_id: 1, connection_id: 4, kind: "connected", detail: "" }],
    });
    await expect(api.history(4)).resolves.toHaveLength(1);
    expect(callsOf("history")).toEqual([{ connection: 4 }]);
  });
});
