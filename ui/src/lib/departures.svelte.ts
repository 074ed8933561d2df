// The open project's departures inbox, read again whenever Rust says it changed (a webhook
// arrived, a listing noticed a departure, an action was taken).
import { api, normalizeError, onDeparturesChanged, type AppError } from "./api";
import type { Departure } from "./bindings/Departure";
import type { DepartureInbox } from "./bindings/DepartureInbox";

let inbox = $state.raw<DepartureInbox | null>(null);
let loadError = $state<AppError | null>(null);
let listening: Promise<() => void> | null = null;

/** Unhandled entries whose member asked for erasure: they stay at the top of the console. */
function pendingErasures(entries: Departure[]): Departure[] {
  return entries.filter((entry) => entry.erasure_requested && entry.handled_at === null);
}

export const departures = {
  get inbox() {
    return inbox;
  },
  get loadError() {
    return loadError;
  },
  get pendingErasures() {
    return inbox ? pendingErasures(inbox.entries) : [];
  },

  async load() {
    try {
      inbox = await api.departures();
      loadError = null;
    } catch (raw) {
      loadError = normalizeError(raw);
    }
  },

  /** Starts following changes (once) and reads the inbox. */
  follow() {
    listening ??= onDeparturesChanged(() => void departures.load());
    return departures.load();
  },

  /** An entry changed by an action: replace it in place. */
  replace(entry: Departure) {
    if (!inbox) return;
    inbox = { ...inbox, entries: inbox.entries.map((e) => (e.id === entry.id ? entry : e)) };
  },

  setReceiver(receiver: DepartureInbox["receiver"]) {
    if (inbox) inbox = { ...inbox, receiver };
  },

  /** Stops following (the project closed) and drops what was read. */
  forget() {
    listening?.then((unlisten) => unlisten());
    listening = null;
    inbox = null;
    loadError = null;
  },
};
